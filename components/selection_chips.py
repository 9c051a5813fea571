"""The chart selection's store and its removable chips under the cohort filter panel
(a journey variant or a Sankey node picked by a click; callbacks/filter_panel.py keeps them
in step with the URL)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids

SELECTION_NAMES = {"variant": "Journey variant", "node": "Pathway step"}


def selection_store() -> dcc.Store:
    return dcc.Store(id=ids.FILTER_SELECTION, data={})


def selection_chips() -> html.Div:
    return html.Div(id=ids.FILTER_CHIPS, className="filter-chips")


def chip(key: str, text: str) -> html.Span:
    """One removable chip: "Journey variant: Screening (positive) → … ×"."""
    return html.Span([
        html.Span(f"{SELECTION_NAMES.get(key, key)}: ", className="filter-chip-name"),
        html.Span(text, className="filter-chip-value"),
        dbc.Button("×", id={"type": ids.FILTER_CHIP_REMOVE, "key": key}, size="sm", color="link",
                   className="filter-chip-remove", title="Remove this selection", n_clicks=0),
    ], className="filter-chip badge rounded-pill text-bg-light", **{"data-key": key})
