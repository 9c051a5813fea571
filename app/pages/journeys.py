"""Journeys: how long patients take to reach the next stage from each decision point, with
dropout and appropriate exits as competing outcomes, and the most common journey variants."""
import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import context
from callbacks.journeys import MAX_GROUPS, compare_options
from components import ids
from components.cards import figure_card, table_card
from components.journey_view import variants_grid
from data.cohorts import stage_phrases

dash.register_page(__name__, path="/journeys", name="Journeys", title="CarePath · Journeys", order=6)

INCIDENCE_NOTE = ("Aalen–Johansen cumulative incidence with pointwise 95 % intervals: of the patients at a decision "
                  "point, the share who reached the awaited stage, exited appropriately or dropped out by each day. "
                  "Dropout is counted when the allowed window closes; patients still inside their window are "
                  "censored (in progress), never counted as dropouts.")


def _stage_options() -> list[dict]:
    if not context.is_ready():
        return []
    pathway = context.pathway()
    phrases = stage_phrases(pathway)
    return [{"label": f"Awaiting {phrases[s]}", "value": s} for s in pathway.decision_stages]


def _controls() -> dbc.Row:
    stages = _stage_options()
    return dbc.Row([
        dbc.Col([dbc.Label("Decision point", html_for=ids.JOURNEYS_STAGE, className="filter-label"),
                 dcc.Dropdown(id=ids.JOURNEYS_STAGE, options=stages, value=stages[0]["value"] if stages else None,
                              clearable=False)], md=4),
        dbc.Col([dbc.Label("Compare", html_for=ids.JOURNEYS_COMPARE_BY, className="filter-label"),
                 dbc.RadioItems(id=ids.JOURNEYS_COMPARE_BY, options=compare_options() if context.is_ready() else [],
                                value="", inline=True)], md=4),
        dbc.Col([dbc.Label(f"Groups (up to {MAX_GROUPS})", html_for=ids.JOURNEYS_GROUPS, className="filter-label"),
                 dcc.Dropdown(id=ids.JOURNEYS_GROUPS, options=[], value=[], multi=True,
                              placeholder="Choose what to compare first")], md=4),
    ], className="mb-3 journeys-controls")


def layout(**_query):  # the filter panel reads the URL's cohort
    return html.Div([
        html.H1("Journeys", className="page-title"),
        html.P("How quickly patients move on from each decision point, how many leave, and which routes "
               "through the pathway are most common.", className="page-subtitle"),
        html.Div(id=ids.JOURNEYS_MESSAGE),
        _controls(),
        figure_card("Time to the next stage, with competing exits", ids.JOURNEYS_INCIDENCE_GRAPH,
                    footer=html.Div(INCIDENCE_NOTE, className="kpi-note")),
        table_card("Patients at risk, events and censoring by day", html.Div(id=ids.JOURNEYS_RISK_TABLE),
                   "counts within each interval up to the day shown"),
        table_card("Journey variants", variants_grid(), ""),
        html.Div(id=ids.JOURNEYS_VARIANTS_NOTE, className="kpi-note mb-3"),
    ])
