"""Overview: headline KPIs, the stage funnel and monthly trends for the cohort."""
import dash
import dash_bootstrap_components as dbc
from dash import html

from callbacks import context
from callbacks.overview import kpi_definitions
from components import ids
from components.cards import figure_card, kpi_card
from components.reconciliation import reconciliation_button
from data.pathway import DEFAULT_PATHWAY

dash.register_page(__name__, path="/", name="Overview", title="CarePath · Overview", order=0)

def _pathway():
    return context.pathway() if context.is_ready() else DEFAULT_PATHWAY


def _as_of_note() -> str:
    if not context.is_ready():
        return ""
    dataset = context.current().dataset
    note = f"Data as of {dataset.as_of:%d %b %Y}"
    if dataset.manifest.get("as_of_inferred"):
        return note + (" (inferred from the latest event date: state it as as_of in the data folder's "
                       "dataset.toml or with CAREPATH_AS_OF).")
    return note + "."


def layout(**_query):  # Dash Pages passes the URL's query parameters; the filter panel reads them
    return html.Div([
        html.H1("Overview", className="page-title"),
        html.P(["Where patients are in the pathway and where they are lost. ", _as_of_note()],
               className="page-subtitle"),
        html.Div(id=ids.OVERVIEW_MESSAGE),
        html.Div([kpi_card(title, value_id, note) for title, value_id, note in kpi_definitions(_pathway())],
                 className="kpi-grid mb-1"),
        html.Div(reconciliation_button(), className="mb-3"),
        dbc.Row([
            dbc.Col(figure_card("Stage funnel", ids.FUNNEL_GRAPH,
                                footer=html.Div(id=ids.FUNNEL_TABLE)), xl=7),
            dbc.Col(figure_card("Monthly enrollment and completion", ids.TREND_GRAPH), xl=5),
        ]),
    ])
