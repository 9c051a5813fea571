"""Scenarios: if we cut wait times or fund outreach, how many more patients finish treatment,
at what cost? Levers on the left, the projection for the filtered cohort on the right."""
import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import context
from components import ids
from components.cards import GRAPH_CONFIG, kpi_card
from components.reconciliation import reconciliation_button
from components.scenario_view import lever_controls
from ml.scenarios.levers import PRESET_LABELS

dash.register_page(__name__, path="/scenarios", name="Scenarios", title="CarePath · Scenarios", order=5)

DEFINITION = ("Adherence (not lost to follow-up) = share of patients with a positive screen who do not drop out: "
              "they complete the pathway or exit appropriately (for example, the diagnosis rules the condition out). "
              "Patients still in progress count with their calibrated chance of not dropping out. This is not the "
              "Overview's completion rate (completed ÷ (completed + dropped out)): 'How these numbers relate' shows "
              "both with their counts.")

KPIS = (
    ("Adherence today", ids.SCENARIO_KPI_BASELINE, "not lost to follow-up, no levers"),
    ("Projected adherence", ids.SCENARIO_KPI_PROJECTED, "model-based, with these levers"),
    ("Change", ids.SCENARIO_KPI_RELATIVE, "patients not lost: projected ÷ today − 1"),
    ("Extra patients not lost", ids.SCENARIO_KPI_EXTRA, "in this cohort"),
    ("Programme cost", ids.SCENARIO_KPI_COST, "outreach only; wait cuts and uptake drives are not costed"),
    ("Cost per extra patient (outreach)", ids.SCENARIO_KPI_COST_PER_EXTRA,
     "outreach cost ÷ the extra patients the outreach itself keeps"),
)

HOW_TO_READ = [
    html.Li([html.Strong("Model-based counterfactual (headline). "),
             "Wait cuts and first-visit attendance act through a model of attending each booked stage (its wait "
             "term is a curve per stage and payer that never rewards a longer wait), chained over every stage still "
             "ahead of the patient. A patient who already completed keeps that outcome; one who dropped out is "
             "rescued with the chance the same patient would have attended with the lever; patients in progress "
             "get the expected change. Checked against the ground truth on three simulated datasets: within 10% "
             "for a 30% cut of every wait; it under-states small cuts (10%) by 10–25% and can over-state cuts of 50% "
             "or more by up to 20% (the fitted wait curve is smooth where the simulated one has a sharp threshold)."]),
    html.Li([html.Strong("Outreach, model-based: "), "effectiveness × the contacted patients' calibrated risk of "
             "dropping out (what is left of it after the other levers). Unbiased as long as the risks are "
             "calibrated (see the Model page)."]),
    html.Li([html.Strong("Stage-conversion arithmetic. "),
             "Chains the observed conversion at each stage; waits act through a per-stage fit of attendance on wait "
             "length. It averages over patients: it ", html.Em("under-states"), " outreach aimed at the "
             "highest-risk patients and the gain of waits cut at several stages at once."]),
    html.Li([html.Strong("Screening uptake "),
             "adds patients no model has seen: both methods count them at the cohort's completion rate, which is "
             "optimistic because late screeners engage less (flagged above when used)."]),
    html.Li([html.Strong("Intervals "), "are 95% intervals: patients resampled (bootstrap), each resample paired "
             "with a draw of the attendance model's coefficients, so they carry the uncertainty of the estimated "
             "wait effect too (the risk model behind outreach is held fixed). The projected-completion interval also "
             "carries the uncertainty of the baseline itself; the change (relative improvement, extra patients) is "
             "estimated on the same patients, so its interval is narrower."]),
]


def _as_of_note() -> str:
    if not context.is_ready():
        return ""
    return f" Data as of {context.current().dataset.as_of:%d %b %Y}."


def _results() -> html.Div:
    return html.Div([
        html.P(id=ids.SCENARIO_SUMMARY, className="scenario-summary"),
        html.Div([kpi_card(title, value_id, note) for title, value_id, note in KPIS], className="kpi-grid scenario-kpis mb-3"),
        html.Div(id=ids.SCENARIO_FLAGS),
        dbc.Card([
            dbc.CardHeader("Two ways to project", className="figure-title"),
            dbc.CardBody(html.Div(id=ids.SCENARIO_METHODS)),
        ], className="figure-card mb-3"),
        dbc.Card([
            dbc.CardHeader("Baseline vs scenario funnel", className="figure-title"),
            dbc.CardBody(dcc.Graph(id=ids.SCENARIO_FUNNEL_GRAPH, config=GRAPH_CONFIG, className="figure"),
                         className="figure-body"),
            dbc.CardFooter("Expected patients reaching each step under the model-based projection: resolved "
                           "patients as observed (dropouts rescued with their chance), patients in progress with their "
                           "chance of getting there. Outreach is not drawn here: it keeps contacted patients from "
                           "dropping out at whichever stage is open, not at one step.", className="kpi-note"),
        ], className="figure-card mb-3"),
        dbc.Card([
            dbc.CardHeader("Check against ground-truth re-simulation", className="figure-title"),
            dbc.CardBody([
                dbc.Button("Check against ground truth", id=ids.SCENARIO_TRUTH_BUTTON, color="primary", size="sm",
                           className="mb-2"),
                # Shown while the re-simulation runs in the background (callbacks/scenarios.py).
                html.Div([
                    dbc.Progress(id=ids.SCENARIO_TRUTH_PROGRESS, value=0, max=1, label="", striped=True,
                                 animated=True, className="scenario-truth-progress mb-2"),
                    dbc.Button("Cancel", id=ids.SCENARIO_TRUTH_CANCEL, color="secondary", outline=True, size="sm",
                               className="mb-2"),
                ], id=ids.SCENARIO_TRUTH_RUNNING, hidden=True),
                html.Div(id=ids.SCENARIO_TRUTH),
            ]),
        ], className="figure-card mb-3"),
        dbc.Card([
            dbc.CardHeader("How to read this", className="figure-title"),
            dbc.CardBody(html.Ul(HOW_TO_READ, className="scenario-how-to-read mb-0")),
        ], className="figure-card mb-3"),
    ], id=ids.SCENARIO_BODY)


def layout(**_query):  # Dash Pages passes the URL's query parameters; the filter panel reads them
    return html.Div([
        html.H1("Scenarios", className="page-title"),
        html.P(["If we cut wait times or fund outreach, how many more patients finish treatment, and at what cost? "
                "The cohort filters choose the patients; the levers below choose the changes.", _as_of_note()],
               className="page-subtitle"),
        html.P(DEFINITION, className="scenario-definition mb-1"),
        html.Div(reconciliation_button(), className="mb-3"),
        dcc.Store(id=ids.SCENARIO_STATE),
        html.Div(id=ids.SCENARIO_MESSAGE),
        dbc.Row([
            dbc.Col(lever_controls(PRESET_LABELS), xl=4),
            dbc.Col(_results(), xl=8),
        ]),
    ])
