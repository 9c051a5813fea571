"""Model page: is the dropout-risk score accurate, calibrated and fair, and free of leakage?
Both models side by side on held-out data; the callbacks fill it from the start-up report."""
import dash
import dash_bootstrap_components as dbc
from dash import html

from callbacks import context
from components import ids
from components.cards import figure_card, table_card
from components.model_tables import GAP_FLAG, subgroup_grid
from ml.risk.models import MODEL_LABELS

dash.register_page(__name__, path="/model", name="Model", title="CarePath · Model", order=2)

SCOPE_NOTE = ("Metrics cover all labelled decision points in the data, held out by cross-validation. The cohort "
              "filters do not apply here: they do not retrain or re-evaluate the models.")
COEFFICIENT_NOTE = ("log-odds on the standardised scale: per standard deviation for numeric features, per level for "
                    "categories (one-hot, every level kept, so compare levels within a feature); top 15 by size")
IMPORTANCE_NOTE = "drop in held-out ROC-AUC when the feature is shuffled (permutation importance); top 12"
FEATURES_NOTE = ("decided from the data: an attribute recorded for nobody, or with one value for everybody, "
                 "is left out; a value missing for some patients is treated as not recorded, never guessed")
SUBGROUP_NOTE = (f"held-out rows of each group; calibration gap = mean predicted − observed, highlighted beyond "
                 f"±{GAP_FLAG * 100:.0f} points. Race/ethnicity is audited here but is not a model input.")


HORIZON_NOTE = ("held-out rows of the shown model; the oracle is the generator's true probability on the same rows "
                "(synthetic data only)")
CALIBRATION_NOTE = ("cross-fitted Platt scaling; ICI and E50/E90/Emax from a smoothed (loess) calibration curve; "
                    "'vs truth' compares the risk with the generator's true probability, free of outcome noise")
DECISION_CURVE_NOTE = ("one row per decision point (its decision day); net benefit = dropouts reached minus "
                       "needless calls weighted by the odds of the threshold; above both reference lines the "
                       "score helps")
CAPACITY_NOTE = ("calling the N highest-risk new decision points each week: how many of the dropouts that will "
                 "happen they include, and how many calls reach one")
MONITORING_NOTE = ("population stability index (PSI) of each input against the training window: 0.10 watch, "
                   "0.25 alert; `python -m ml.monitor` runs the same check for automation")


def _primary_model() -> str:
    if context.is_ready() and context.current().models is not None:
        return context.current().models.report["primary_model"]
    return next(iter(ids.MODEL_IMPORTANCE_GRAPHS))


def _subgroup_selector() -> html.Div:
    return html.Div([
        html.Span("Model:", className="filter-label me-2"),
        dbc.RadioItems(id=ids.MODEL_SUBGROUP_MODEL, value=_primary_model(), inline=True,
                       options=[{"label": MODEL_LABELS[name], "value": name} for name in ids.MODEL_IMPORTANCE_GRAPHS]),
    ], className="subgroup-selector mb-2")


def layout(**_query):  # Dash Pages passes the URL's query parameters; the filter panel reads them
    return html.Div([
        html.H1("Model", className="page-title"),
        html.P("Is the dropout-risk score accurate, calibrated and fair, and free of leakage?",
               className="page-subtitle"),
        html.Div(id=ids.MODEL_MESSAGE),
        html.Div(SCOPE_NOTE, className="scope-note mb-3"),
        html.Div(id=ids.MODEL_HEADLINE),
        html.Div(id=ids.MODEL_HEADER),
        table_card("ROC-AUC by horizon: decision day, then each landmark and stage", html.Div(id=ids.MODEL_HORIZON),
                   HORIZON_NOTE),
        table_card("Both models side by side", html.Div(id=ids.MODEL_COMPARISON),
                   "cross-validated on held-out rows; hover a column header for its definition"),
        table_card("Features", html.Div(id=ids.MODEL_FEATURES), FEATURES_NOTE),
        dbc.Row([
            dbc.Col(figure_card("ROC curves", ids.MODEL_ROC_GRAPH), xl=6),
            dbc.Col(figure_card("Calibration: predicted vs observed, 10 equal-size bins",
                                ids.MODEL_CALIBRATION_GRAPH,
                                footer=html.Div(id=ids.MODEL_CALIBRATION_CAPTION, className="kpi-note")), xl=6),
        ]),
        dbc.Row([
            dbc.Col(figure_card(f"Feature importance: {MODEL_LABELS[name]}", graph_id,
                                footer=html.Div(IMPORTANCE_NOTE, className="kpi-note")), xl=6)
            for name, graph_id in ids.MODEL_IMPORTANCE_GRAPHS.items()
        ]),
        table_card("Calibration", html.Div(id=ids.MODEL_CALIBRATION_SET), CALIBRATION_NOTE),
        dbc.Row([
            dbc.Col(figure_card("Decision curve: net benefit of calling by risk", ids.MODEL_DECISION_CURVE_GRAPH,
                                footer=html.Div(DECISION_CURVE_NOTE, className="kpi-note")), xl=6),
            dbc.Col(table_card("What a weekly calling capacity reaches", html.Div(id=ids.MODEL_CAPACITY),
                               CAPACITY_NOTE), xl=6),
        ]),
        dbc.Row([
            dbc.Col(table_card("Monitoring: today's in-progress patients", html.Div(id=ids.MODEL_MONITORING),
                               MONITORING_NOTE), xl=5),
            dbc.Col(figure_card("Monitoring by month of decision (labels arrive months later)",
                                ids.MODEL_MONITORING_GRAPH), xl=7),
        ]),
        table_card("Logistic-regression coefficients", html.Div(id=ids.MODEL_COEFFICIENTS), COEFFICIENT_NOTE),
        table_card("Performance and calibration by subgroup",
                   [_subgroup_selector(), html.Div(id=ids.MODEL_SUBGROUP_SKIPPED, className="kpi-note mb-2"),
                    subgroup_grid(ids.MODEL_SUBGROUP_GRID)], SUBGROUP_NOTE),
    ])
