"""Table factories: small frames in, Bootstrap tables out."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from components import formatting


def funnel_table(funnel: pd.DataFrame) -> dbc.Table:
    """The funnel's numbers as text, for reading exact values and for screen readers."""
    header = html.Thead(html.Tr([html.Th("Step"), html.Th("Patients", className="text-end"),
                                 html.Th("Conversion", className="text-end"),
                                 html.Th("Drop-off", className="text-end"), html.Th("Meaning")]))
    rows = [
        html.Tr([
            html.Td(row.label),
            html.Td(formatting.count(row.patients), className="text-end"),
            html.Td(formatting.percent(row.conversion), className="text-end"),
            html.Td(formatting.count(row.drop_off) if i else formatting.MISSING, className="text-end"),
            html.Td(row.drop_off_meaning, className="text-muted small"),
        ], **{"data-step": row.step})
        for i, row in enumerate(funnel.itertuples(index=False))
    ]
    return dbc.Table([header, html.Tbody(rows)], size="sm", hover=True, className="funnel-table mb-0")
