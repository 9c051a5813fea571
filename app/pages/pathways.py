"""Pathways: where in the pathway patients are lost, how long they wait between
stages, and which sites and payers lose the most."""
import dash
import dash_bootstrap_components as dbc
from dash import html

from components import ids
from components.cards import figure_card, table_card
from components.reconciliation import reconciliation_button
from components.tables import breakdown_grid
from data.journeys import STATUS_LABELS, STATUSES

dash.register_page(__name__, path="/pathways", name="Pathways", title="CarePath · Pathways", order=1)

BREAKDOWN_NOTE = ("sorted by dropout rate, highest first; rates as on the Overview, over the resolved "
                  "patients with a positive screen (completed + dropped out)")


def _status_legend() -> html.Div:
    return html.Div([html.Span(STATUS_LABELS[status], className=f"status-chip status-chip--{status}")
                     for status in STATUSES]
                    + [html.Span("Patients moving on", className="status-chip")],
                    className="status-legend")


def layout(**_query):  # Dash Pages passes the URL's query parameters; the filter panel reads them
    return html.Div([
        html.H1("Pathways", className="page-title"),
        html.P("Where patients leave the pathway, how long each step takes, and which sites and "
               "payers lose the most.", className="page-subtitle"),
        html.Div(id=ids.PATHWAYS_MESSAGE),
        dbc.Card(dbc.CardBody([html.Div(id=ids.BOTTLENECK_TEXT), reconciliation_button()]),
                 className="bottleneck-callout mb-3"),
        figure_card("Stage transitions", ids.SANKEY_GRAPH, footer=_status_legend(), graph_class="figure--sankey"),
        dbc.Row([
            dbc.Col(figure_card("Days between stages", ids.DURATIONS_GRAPH), xl=7),
            dbc.Col(table_card("Median and IQR", html.Div(id=ids.DURATIONS_TABLE),
                               "patients who had both stages"), xl=5),
        ]),
        html.Div(table_card("By site", breakdown_grid(ids.BREAKDOWN_SITE_GRID, "Site"), BREAKDOWN_NOTE),
                 id=ids.BREAKDOWN_SITE_CARD),
        html.Div(table_card("By payer", breakdown_grid(ids.BREAKDOWN_PAYER_GRID, "Payer"), BREAKDOWN_NOTE),
                 id=ids.BREAKDOWN_PAYER_CARD),
    ])
