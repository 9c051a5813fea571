"""Worklist: whom to call today. The cohort's active patients ranked by the expected gain
from a call (or risk, or deadline), with why, sized to the coordinator's calling capacity."""
import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import context
from callbacks.worklist import ALL, CAPACITY_CHOICES, SORTS, gain_available, initial_controls
from components import ids
from components.cards import table_card
from components.outreach_panel import outreach_form, team_summary_grid
from components.worklist_table import worklist_grid

dash.register_page(__name__, path="/worklist", name="Worklist", title="CarePath · Worklist", order=3)

GRID_NOTE = ("Click a row to record a call for that patient; click the patient id to open their page. Column "
             "menus sort and filter within the rows shown; the CSV contains exactly the rows shown, in the order "
             "shown.")
TEAM_NOTE = "Calls recorded over the last 30 days, per coordinator and per the patient's home site."


def _as_of_note() -> str:
    if not context.is_ready():
        return ""
    return f" Data as of {context.current().dataset.as_of:%d %b %Y}."


def _capacity_control(capacity) -> html.Div:
    options = [{"label": "all" if n == ALL else str(n), "value": n} for n in CAPACITY_CHOICES]
    return html.Div([
        dbc.Label("I can call", html_for=ids.WORKLIST_CAPACITY, className="worklist-capacity-label"),
        dcc.Dropdown(id=ids.WORKLIST_CAPACITY, options=options, value=capacity, clearable=False,
                     searchable=False, className="worklist-capacity-dropdown"),
        html.Span("patients today", className="worklist-capacity-label"),
    ], className="worklist-capacity")


def _sort_control(sort: str, with_gain: bool) -> html.Div:
    options = [{"label": label, "value": value, "disabled": value == "gain" and not with_gain}
               for value, label in SORTS.items()]
    return html.Div([
        dbc.Label("Rank by", html_for=ids.WORKLIST_SORT, className="worklist-capacity-label"),
        dbc.RadioItems(id=ids.WORKLIST_SORT, options=options, value=sort, inline=True,
                       className="worklist-sort"),
    ], className="worklist-capacity")


def _unbooked_note() -> str:
    first = context.pathway().stages[0].label.lower() if context.is_ready() else "screening"
    return f"Patients awaiting {first} are not booked yet and are not listed."


def _lead(with_gain: bool) -> str:
    if with_gain:
        return ("Whom to call today: patients still in their pathway and waiting for a booked appointment, "
                "those a call is expected to help most first (a call helps only if it reaches the patient, "
                "time is left to rebook and the barrier is one a navigator can remove). ")
    return ("Whom to call today: patients still in their pathway and waiting for a booked appointment, highest "
            "calibrated risk of dropping out first. There is no outreach log to learn whom a call helps, so "
            "the list cannot be ranked by expected gain. ")


def layout(**query):  # Dash Pages passes the URL's query parameters (cohort filter, n, sort)
    with_gain = context.is_ready() and gain_available()
    capacity, sort = initial_controls(query) if context.is_ready() else (25, "risk")
    return html.Div([
        html.H1("Worklist", className="page-title"),
        html.P([_lead(with_gain), _unbooked_note(), _as_of_note()], className="page-subtitle"),
        dcc.Store(id=ids.WORKLIST_URL_WRITTEN),
        dcc.Store(id=ids.WORKLIST_REFRESH, data=0),
        html.Div(id=ids.WORKLIST_MESSAGE),
        html.Div([
            html.Div([
                _capacity_control(capacity),
                _sort_control(sort, with_gain),
                dbc.Switch(id=ids.WORKLIST_SHOW_CALLED, label="Show patients already called today", value=False,
                           className="worklist-show-called"),
                dbc.Button("Download CSV", id=ids.WORKLIST_EXPORT_BUTTON, color="primary", outline=True,
                           size="sm"),
                # Shown while the export job rebuilds the rows on the server (callbacks/worklist.py).
                html.Span([
                    dbc.Spinner(size="sm", spinner_class_name="me-1"),
                    html.Span("Preparing the CSV…", className="me-2"),
                    dbc.Button("Cancel", id=ids.WORKLIST_EXPORT_CANCEL, color="secondary", outline=True, size="sm"),
                ], id=ids.WORKLIST_EXPORT_RUNNING, hidden=True, className="worklist-export-running"),
                html.Span(id=ids.WORKLIST_EXPORT_NOTE, className="worklist-export-note"),
                dcc.Store(id=ids.WORKLIST_FILTERED_IDS),
                dcc.Download(id=ids.WORKLIST_DOWNLOAD),
            ], className="worklist-toolbar"),
            html.Div(id=ids.WORKLIST_SUMMARY, className="worklist-summary"),
            dbc.Row([
                dbc.Col(table_card("Patients to call", worklist_grid(ids.WORKLIST_GRID, show_gain=with_gain),
                                   GRID_NOTE), xl=9),
                dbc.Col(dbc.Card(dbc.CardBody(outreach_form()), className="outreach-card"), xl=3),
            ], className="g-3"),
            table_card("Team: calls and outcomes", team_summary_grid(), TEAM_NOTE),
        ], id=ids.WORKLIST_BODY),
    ])
