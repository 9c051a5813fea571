"""Audit report (admins): who saw which patients, when; sortable, filtered by user, action and dates."""
import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from database.audit import ACTIONS

dash.register_page(__name__, path="/admin/audit", name="Audit", title="CarePath · Audit", order=90)

COLUMNS = [
    {"field": "id", "headerName": "#", "maxWidth": 90, "sort": "desc"},
    {"field": "at", "headerName": "When (UTC)", "minWidth": 170},
    {"field": "username", "headerName": "User"},
    {"field": "role", "headerName": "Role", "maxWidth": 130},
    {"field": "action", "headerName": "Action"},
    {"field": "page", "headerName": "Page", "maxWidth": 140},
    {"field": "patients", "headerName": "Patients", "maxWidth": 120, "type": "numericColumn"},
    {"field": "patient_ids", "headerName": "Patient ids (first 20)", "flex": 2, "minWidth": 240},
]


def layout(**_query):
    return html.Div([
        html.H2("Audit report", className="h4 mb-1"),
        html.P("Every patient page view, worklist render, export, outreach write and API read, with who, when and "
               "which patients. Append-only and hash-chained: an edited or deleted event breaks the chain.",
               className="text-muted"),
        dbc.Row([
            dbc.Col(dbc.Input(id=ids.AUDIT_USER, placeholder="User name", debounce=True), md=3),
            dbc.Col(dcc.Dropdown(id=ids.AUDIT_ACTION, options=[{"label": a.replace("_", " "), "value": a}
                                                                for a in ACTIONS],
                                 placeholder="Any action"), md=3),
            dbc.Col(dcc.DatePickerRange(id=ids.AUDIT_DATES, display_format="YYYY-MM-DD", clearable=True), md=6),
        ], className="g-2 mb-3"),
        html.Div(id=ids.AUDIT_SUMMARY, className="mb-2"),
        dag.AgGrid(id=ids.AUDIT_GRID, columnDefs=COLUMNS, rowData=[],
                   defaultColDef={"sortable": True, "filter": True, "resizable": True, "flex": 1},
                   dashGridOptions={"pagination": True, "paginationPageSize": 50}, style={"height": "620px"}),
    ])
