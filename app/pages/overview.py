"""Overview: headline KPIs, the stage funnel and monthly trends for the cohort."""
import dash
import dash_bootstrap_components as dbc
from dash import html

from callbacks import context
from components import ids
from components.cards import figure_card, kpi_card

dash.register_page(__name__, path="/", name="Overview", title="CarePath · Overview", order=0)

KPIS = (
    ("Patients", ids.KPI_PATIENTS, "in the cohort"),
    ("Completion rate", ids.KPI_COMPLETION_RATE, "completed ÷ (completed + dropped out)"),
    ("Dropout rate", ids.KPI_DROPOUT_RATE, "dropped out ÷ (completed + dropped out)"),
    ("Positive screen → treatment", ids.KPI_MEDIAN_DAYS_TO_TREATMENT, "median"),
    ("In progress", ids.KPI_IN_PROGRESS, "window still open"),
    ("Active high-risk patients", ids.KPI_HIGH_RISK, "from the dropout-risk model"),
)


def _as_of_note() -> str:
    if not context.is_ready():
        return ""
    return f"Data as of {context.current().dataset.as_of:%d %b %Y}."


def layout(**_query):  # Dash Pages passes the URL's query parameters; the filter panel reads them
    return html.Div([
        html.H1("Overview", className="page-title"),
        html.P(["Where patients are in the pathway and where they are lost. ", _as_of_note()],
               className="page-subtitle"),
        html.Div(id=ids.OVERVIEW_MESSAGE),
        dbc.Row([dbc.Col(kpi_card(title, value_id, note), xs=6, lg=4, xxl=2)
                 for title, value_id, note in KPIS], className="g-3 mb-3"),
        dbc.Row([
            dbc.Col(figure_card("Stage funnel", ids.FUNNEL_GRAPH,
                                footer=html.Div(id=ids.FUNNEL_TABLE)), xl=7),
            dbc.Col(figure_card("Monthly enrollment and completion", ids.TREND_GRAPH), xl=5),
        ]),
    ])
