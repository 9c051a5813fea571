"""Quality: the follow-up measures the pathway definition gives (default: colonoscopy within
180 days of a positive stool test, as eCQM 4705e), for the cohort, by site and by month."""
import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import context
from callbacks.measures import measure_options
from components import ids
from components.cards import figure_card, table_card

dash.register_page(__name__, path="/quality", name="Quality", title="CarePath · Quality", order=7)


def layout(**_query):  # the filter panel reads the URL's cohort
    options = measure_options() if context.is_ready() else []
    as_of = f" Data as of {context.current().dataset.as_of:%d %b %Y}." if context.is_ready() else ""
    return html.Div([
        html.H1("Quality", className="page-title"),
        html.P("How the cohort scores on follow-up quality measures, where the gap is, and whom it holds." + as_of,
               className="page-subtitle"),
        html.Div([dbc.Label("Measure", html_for=ids.QUALITY_MEASURE, className="filter-label"),
                  dcc.Dropdown(id=ids.QUALITY_MEASURE, options=options,
                               value=options[0]["value"] if options else None, clearable=False)],
                 className="mb-3", style=None if options else {"display": "none"}),
        html.Div(id=ids.QUALITY_MESSAGE),
        dbc.Card(dbc.CardBody(html.Div(id=ids.QUALITY_DEFINITION)), className="mb-3"),
        html.Div(id=ids.QUALITY_SUMMARY),
        figure_card("Rate by month of the index event", ids.QUALITY_TREND_GRAPH),
        table_card("By site", html.Div(id=ids.QUALITY_SITE_TABLE), "the patient's home site"),
        table_card("Patients in the numerator gap", html.Div(id=ids.QUALITY_GAP),
                   "patient-level: each opens the Patient page"),
    ])
