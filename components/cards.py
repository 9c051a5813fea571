"""Small layout factories used by several pages: KPI cards, figure cards, placeholders."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

GRAPH_CONFIG = {"displaylogo": False, "responsive": True}


def kpi_card(title: str, value_id: str, note: str = "") -> dbc.Card:
    """A headline number; the callback fills ``value_id`` with the formatted value."""
    return dbc.Card(dbc.CardBody([
        html.Div(title, className="kpi-title"),
        html.Div("…", id=value_id, className="kpi-value"),
        html.Div(note, className="kpi-note") if note else None,
    ]), className="kpi-card h-100")


def figure_card(title: str, graph_id: str, footer=None, graph_class: str = "") -> dbc.Card:
    """A titled card around a graph; ``graph_class`` adds a class (e.g. a taller graph)."""
    return dbc.Card([
        dbc.CardHeader(title, className="figure-title"),
        dbc.CardBody(dcc.Graph(id=graph_id, config=GRAPH_CONFIG, className=f"figure {graph_class}".strip()),
                     className="figure-body"),
        dbc.CardFooter(footer) if footer is not None else None,
    ], className="figure-card mb-3")


def coming_soon(title: str, description: str) -> html.Div:
    """Placeholder body for a page whose slice has not been built yet."""
    return html.Div([
        html.H1(title, className="page-title"),
        dbc.Alert([html.Strong("Coming in a later release. "), description], color="info"),
    ])


def table_card(title: str, body, subtitle: str = "") -> dbc.Card:
    """A titled card around a table or grid."""
    return dbc.Card([
        dbc.CardHeader([html.Span(title, className="figure-title"),
                        html.Div(subtitle, className="kpi-note") if subtitle else None]),
        dbc.CardBody(body),
    ], className="figure-card mb-3")


def rate_with_counts(value: str, numerator, denominator) -> list:
    """A KPI's percentage with its numerator and denominator beneath it."""
    from components.formatting import fraction

    return [value, html.Div(fraction(numerator, denominator), className="kpi-fraction")]
