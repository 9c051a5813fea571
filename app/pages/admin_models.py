"""Models (admins): which models the app serves, and re-training them on the current data as a
background job with its steps shown (callbacks/model_admin.py)."""
import dash
import dash_bootstrap_components as dbc
from dash import html

from callbacks.model_admin import STEPS
from components import ids

dash.register_page(__name__, path="/admin/models", name="Models (admin)", title="CarePath · Models", order=91)


def layout(**_query):
    return html.Div([
        html.H2("Models", className="h4 mb-1"),
        html.P("Re-train the dropout-risk and benefit models on the data as it is now: the data folder read again "
               "and the calls the team has logged since start-up added. Training runs in the background (minutes "
               "on a large population); every worker swaps the new models in when it is done.",
               className="text-muted"),
        html.Div(id=ids.ADMIN_MODELS_CURRENT, className="mb-2"),
        dbc.Button("Re-train on the current data", id=ids.ADMIN_RETRAIN_BUTTON, color="primary", size="sm",
                   className="mb-2"),
        html.Div([
            dbc.Progress(id=ids.ADMIN_RETRAIN_PROGRESS, value=0, max=len(STEPS), label="", striped=True,
                         animated=True, className="mb-2"),
            dbc.Button("Cancel", id=ids.ADMIN_RETRAIN_CANCEL, color="secondary", outline=True, size="sm",
                       className="mb-2"),
        ], id=ids.ADMIN_RETRAIN_RUNNING, hidden=True),
        html.Div(id=ids.ADMIN_RETRAIN_RESULT),
    ])
