"""Worklist: whom to call today. The cohort's active patients ranked by calibrated
dropout risk, with why, sized to the coordinator's calling capacity."""
import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import context
from callbacks.worklist import ALL, CAPACITY_CHOICES, DEFAULT_CAPACITY
from components import ids
from components.cards import table_card
from components.worklist_table import worklist_grid

dash.register_page(__name__, path="/worklist", name="Worklist", title="CarePath · Worklist", order=3)

GRID_NOTE = ("Click a patient id to open their page. Column menus sort and filter within the rows shown; "
             "the CSV contains exactly the rows shown, in the order shown.")


def _as_of_note() -> str:
    if not context.is_ready():
        return ""
    return f" Data as of {context.current().dataset.as_of:%d %b %Y}."


def _capacity_control() -> html.Div:
    options = [{"label": "all" if n == ALL else str(n), "value": n} for n in CAPACITY_CHOICES]
    return html.Div([
        dbc.Label("I can call", html_for=ids.WORKLIST_CAPACITY, className="worklist-capacity-label"),
        dcc.Dropdown(id=ids.WORKLIST_CAPACITY, options=options, value=DEFAULT_CAPACITY, clearable=False,
                     searchable=False, className="worklist-capacity-dropdown"),
        html.Span("patients today", className="worklist-capacity-label"),
    ], className="worklist-capacity")


def layout(**_query):  # Dash Pages passes the URL's query parameters; the filter panel reads them
    return html.Div([
        html.H1("Worklist", className="page-title"),
        html.P(["Whom to call today: patients still in their pathway and waiting for a booked appointment, "
                "highest calibrated risk of dropping out first. Patients awaiting screening are not booked "
                "yet and are not listed.", _as_of_note()], className="page-subtitle"),
        html.Div(id=ids.WORKLIST_MESSAGE),
        html.Div([
            html.Div([
                _capacity_control(),
                dbc.Button("Download CSV", id=ids.WORKLIST_EXPORT_BUTTON, color="primary", outline=True,
                           size="sm"),
                dcc.Download(id=ids.WORKLIST_DOWNLOAD),
            ], className="worklist-toolbar"),
            html.Div(id=ids.WORKLIST_SUMMARY, className="worklist-summary"),
            table_card("Patients to call", worklist_grid(ids.WORKLIST_GRID), GRID_NOTE),
        ], id=ids.WORKLIST_BODY),
    ])
