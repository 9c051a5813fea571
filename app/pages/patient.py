"""Patient: one patient's risk and why, what they are waiting for compared with the
cohort, their journey timeline and attributes. Opened by ``?id=`` or the search box."""
import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.cards import GRAPH_CONFIG
from components.figures import TIMELINE_HEIGHT
from components.patient_view import search_bar

dash.register_page(__name__, path="/patient", name="Patient", title="CarePath · Patient", order=4)


def layout(id=None, **_query):  # noqa: A002 - ``id`` is the URL's key; the other keys are the cohort filter
    return html.Div([
        html.H1("Patient", className="page-title"),
        html.P("Why this patient is at risk of dropping out, what they are waiting for, and their journey so far.",
               className="page-subtitle"),
        search_bar(id),
        dcc.Store(id=ids.PATIENT_URL_WRITTEN),
        html.Div(id=ids.PATIENT_MESSAGE),
        html.Div([
            dbc.Card(dbc.CardBody(html.Div(id=ids.PATIENT_HEADER)), className="patient-header mb-3"),
            dbc.Card([
                dbc.CardHeader("Dropout risk and why", className="figure-title"),
                dbc.CardBody(dbc.Row([
                    dbc.Col([html.Div(id=ids.PATIENT_RISK), html.Div(id=ids.PATIENT_DRIVERS_LIST)], lg=4),
                    dbc.Col(dcc.Graph(id=ids.PATIENT_DRIVERS_GRAPH, config=GRAPH_CONFIG,
                                      className="patient-drivers"), lg=8),
                ]), className="figure-body"),
            ], className="figure-card mb-3"),
            dbc.Row([
                dbc.Col(dbc.Card([
                    dbc.CardHeader("Journey so far", className="figure-title"),
                    # An explicit height: a responsive graph first drawn while hidden would keep 0 px.
                    dbc.CardBody(dcc.Graph(id=ids.PATIENT_TIMELINE_GRAPH, config=GRAPH_CONFIG,
                                           style={"height": f"{TIMELINE_HEIGHT}px"}), className="figure-body"),
                ], className="figure-card mb-3"), xl=8),
                dbc.Col(dbc.Card([
                    dbc.CardHeader("Patient attributes", className="figure-title"),
                    dbc.CardBody(html.Div(id=ids.PATIENT_ATTRIBUTES)),
                ], className="figure-card mb-3"), xl=4),
            ]),
        ], id=ids.PATIENT_DETAILS, hidden=True),
    ])
