"""The Worklist's outreach workspace: the form to record a call for the selected patient,
and the team summary table. Layout only; callbacks/outreach.py fills and reads it."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from data.schema import DISPOSITIONS

# What each call outcome is called on screen, in the order a coordinator meets them.
DISPOSITION_LABELS = {
    "reached_rebooked": "Reached – rebooked",
    "reached_declined": "Reached – declined",
    "left_message": "Left a message",
    "unreachable": "Unreachable",
    "wrong_number": "Wrong number",
}
assert set(DISPOSITION_LABELS) == set(DISPOSITIONS), "a call outcome without a label"

NO_SELECTION = "Select a patient in the list to record a call or take them on."


def outreach_form() -> html.Div:
    """Record a call for the patient selected in the grid, or assign them."""
    return html.Div([
        html.H2("Record outreach", className="card-title h6"),
        html.P(NO_SELECTION, id=ids.OUTREACH_PATIENT, className="outreach-patient"),
        dbc.Label("Coordinator", html_for=ids.OUTREACH_COORDINATOR, className="filter-label"),
        dbc.Input(id=ids.OUTREACH_COORDINATOR, placeholder="Your name", maxLength=128, debounce=True,
                  persistence=True, persistence_type="local", className="mb-2"),
        dbc.Label("Outcome of the call", html_for=ids.OUTREACH_DISPOSITION, className="filter-label"),
        dbc.RadioItems(id=ids.OUTREACH_DISPOSITION, value=None, className="mb-2",
                       options=[{"label": DISPOSITION_LABELS[d], "value": d} for d in DISPOSITIONS]),
        dbc.Label("Note", html_for=ids.OUTREACH_NOTE, className="filter-label"),
        dbc.Textarea(id=ids.OUTREACH_NOTE, maxLength=2000, rows=3, className="mb-2",
                     placeholder="e.g. prefers mornings; needs a ride; rebooked for 12 Dec"),
        dbc.Label("Next attempt due", html_for=ids.OUTREACH_DUE, className="filter-label"),
        html.Div(dcc.DatePickerSingle(id=ids.OUTREACH_DUE, display_format="YYYY-MM-DD", clearable=True),
                 className="mb-2"),
        html.Div([
            dbc.Button("Save call", id=ids.OUTREACH_SAVE, color="primary", size="sm", disabled=True),
            dbc.Button("Take on (assign to me)", id=ids.OUTREACH_ASSIGN, color="secondary", outline=True,
                       size="sm", disabled=True),
        ], className="outreach-buttons"),
        html.Div(id=ids.OUTREACH_FEEDBACK, className="mt-2"),
        # A new key whenever the patient or the call's fields change; every Save of the same
        # call sends the same key, so the log stores a double-clicked call once.
        dcc.Store(id=ids.OUTREACH_REQUEST_KEY),
    ], className="outreach-form")


def team_summary_grid() -> dag.AgGrid:
    numeric = {"type": "rightAligned"}
    percent = {"function": "params.value == null ? '—' : d3.format('.0%')(params.value)"}
    return dag.AgGrid(
        id=ids.TEAM_SUMMARY_GRID,
        columnDefs=[
            {"field": "group", "headerName": "Coordinator / site"},
            {"field": "attempts", "headerName": "Calls", **numeric},
            {"field": "per_day", "headerName": "Calls a day", **numeric,
             "valueFormatter": {"function": "d3.format('.1f')(params.value)"}},
            {"field": "reach_rate", "headerName": "Reached", **numeric, "valueFormatter": percent,
             "headerTooltip": "Share of calls that reached the patient (rebooked or declined)"},
            {"field": "rebooked_share", "headerName": "Rebooked", **numeric, "valueFormatter": percent,
             "headerTooltip": "Share of calls that ended with the appointment rebooked"},
        ],
        rowData=[],
        defaultColDef={"sortable": True, "resizable": True, "flex": 1},
        dashGridOptions={"domLayout": "autoHeight", "animateRows": False},
        className="team-summary-grid",
    )
