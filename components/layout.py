"""The app shell: navbar, cohort filter panel and the page container."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.filters import filter_panel
from components.selection_chips import selection_chips, selection_store

# (path, label) in navbar order; every path is a registered page.
NAV_PAGES = (
    ("/", "Overview"),
    ("/pathways", "Pathways"),
    ("/model", "Model"),
    ("/worklist", "Worklist"),
    ("/patient", "Patient"),
    ("/scenarios", "Scenarios"),
    ("/journeys", "Journeys"),
    ("/quality", "Quality"),
)
# Pages that show patient-level data only: hidden from the nav (and refused) for aggregate-only roles.
PATIENT_LEVEL_PAGES = ("/worklist", "/patient")
HIDDEN = {"display": "none"}


def navbar() -> dbc.Navbar:
    links = [dbc.NavItem(dbc.NavLink(label, href=path, id=ids.NAV_LINKS[path])) for path, label in NAV_PAGES]
    return dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand("CarePath", href="/", className="brand"),
            dbc.Nav(links, navbar=True, className="me-auto"),
        ], fluid=True),
        id=ids.NAVBAR, color="dark", dark=True, className="mb-3",
    )


def shell(sites, enrolled_first, enrolled_last, hidden_fields: tuple[str, ...] = (),
          program_labels: dict[str, str] | None = None) -> html.Div:
    return html.Div([
        # Read-only: the URL is written by a clientside callback (see callbacks/filter_panel.py).
        dcc.Location(id=ids.URL, refresh=False),
        dcc.Store(id=ids.COHORT_QUERY),
        dcc.Store(id=ids.URL_WRITTEN),
        navbar(),
        dbc.Container(dbc.Row([
            # The chart selection's chips sit above the panel, inside one sticky column, so they
            # stay in view while the page scrolls.
            dbc.Col(html.Div([selection_store(), selection_chips(),
                              filter_panel(sites, enrolled_first, enrolled_last, hidden_fields, program_labels)],
                             className="filter-column"),
                    md=4, lg=3, xxl=2),
            dbc.Col([html.Div(id=ids.URL_NOTICE), dash.page_container], md=8, lg=9, xxl=10, className="page-body"),
        ]), fluid=True),
    ])
