"""Pathways page callbacks: Sankey of stage transitions, time between stages, the
bottleneck, and breakdowns by site and payer for the chosen cohort."""
from __future__ import annotations

from dataclasses import dataclass

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, html, no_update

from callbacks import access_scope, analytics, context, suppression
from callbacks.overview import EMPTY_COHORT_MESSAGE
from components import ids
from components.figures import durations_figure, empty_figure, sankey_figure
from components.tables import breakdown_rows, durations_table
from data.analytics.sankey_nodes import node_from_click
from data.cohort_filter import NODE_KEY
from data.cohorts import bottleneck_definition, bottleneck_text, stage_losses


@dataclass(frozen=True)
class PathwaysView:
    """Everything the Pathways page shows, in the order of the callback's outputs."""

    message: object
    bottleneck: object
    sankey: go.Figure
    durations: go.Figure
    durations_table: object
    site_rows: list
    payer_rows: list
    site_style: dict | None = None  # HIDDEN when the data has fewer than two sites
    payer_style: dict | None = None  # HIDDEN when the data has fewer than two payers (or none recorded)

    def as_outputs(self) -> tuple:
        return (self.message, self.bottleneck, self.sankey, self.durations, self.durations_table,
                self.site_rows, self.payer_rows, self.site_style, self.payer_style)


HIDDEN = {"display": "none"}


def _breakdown_style(column: str) -> dict | None:
    """A breakdown with one group compares nothing: hidden when the data cannot give two."""
    return None if context.current().has_breakdown(column) else HIDDEN


def bottleneck_callout(headline: str, definition: str) -> html.Div:
    return html.Div([
        html.P(headline, className="bottleneck-headline"),
        html.P(definition, className="bottleneck-definition"),
    ])


def pathways_view(cohort_query: str | None) -> PathwaysView:
    """Compute the Pathways page for the cohort in ``cohort_query`` (a URL query string)."""
    numbers = analytics.pathways(context.cohort_filter(cohort_query))
    if numbers.patients == 0:
        blank = empty_figure("No patients in this cohort")
        return PathwaysView(
            message=dbc.Alert(EMPTY_COHORT_MESSAGE, color="warning", className="mb-3"),
            bottleneck=None, sankey=blank, durations=blank, durations_table=None,
            site_rows=[], payer_rows=[], site_style=_breakdown_style("site"), payer_style=_breakdown_style("payer"),
        )
    pathway = context.pathway()
    flows, durations, breakdowns = numbers.flows, numbers.durations, numbers.breakdowns
    if access_scope.suppresses_small_counts():
        return _suppressed_view(numbers, pathway)
    return PathwaysView(
        message=None,
        bottleneck=bottleneck_callout(bottleneck_text(stage_losses(flows, pathway), durations, pathway),
                                      bottleneck_definition(pathway)),
        sankey=sankey_figure(flows),
        durations=durations_figure(durations),
        durations_table=durations_table(durations),
        site_rows=breakdown_rows(breakdowns["site"]),
        payer_rows=breakdown_rows(breakdowns["payer"]),
        site_style=_breakdown_style("site"),
        payer_style=_breakdown_style("payer"),
    )


def _suppressed_view(numbers, pathway) -> PathwaysView:
    """Pathways for aggregate-only users: flows of 1-10 patients left out, small counts and the
    rates and waits built on them read "<11"; the bottleneck sentence (it names counts) is withheld
    when it rests on a small count."""
    flows, durations = numbers.flows, numbers.durations
    losses = stage_losses(flows, pathway)
    small_losses = suppression.has_small(losses, ["indicated", "got", "dropped_out", "resolved"])
    shown_durations = suppression.durations(durations)
    return PathwaysView(
        message=None,
        bottleneck=bottleneck_callout(
            suppression.SUPPRESSED_FIGURE + "." if small_losses or suppression.has_small(durations, ["n"])
            else bottleneck_text(losses, durations, pathway), bottleneck_definition(pathway)),
        sankey=sankey_figure(suppression.sankey(flows)),
        durations=durations_figure(durations[~suppression._small_mask(durations["n"])]),
        durations_table=durations_table(shown_durations),
        site_rows=breakdown_rows(suppression.breakdown(numbers.breakdowns["site"])),
        payer_rows=breakdown_rows(suppression.breakdown(numbers.breakdowns["payer"])),
        site_style=_breakdown_style("site"),
        payer_style=_breakdown_style("payer"),
    )


def update_pathways(cohort_query: str | None) -> tuple:
    return pathways_view(cohort_query).as_outputs()


def selection_from_sankey_click(click_data: dict | None, current: dict | None):
    """A click on a Sankey node selects the patients through it on every page (the URL's
    ``node=``); a click on a link selects nothing."""
    points = (click_data or {}).get("points") or [None]
    slug = node_from_click(points[0], context.pathway())
    if slug is None:
        return no_update
    return {**(current or {}), NODE_KEY: slug}


def register_callbacks(app: Dash) -> None:
    app.callback(
        Output(ids.FILTER_SELECTION, "data", allow_duplicate=True),
        Input(ids.SANKEY_GRAPH, "clickData"),
        State(ids.FILTER_SELECTION, "data"),
        prevent_initial_call=True,
    )(selection_from_sankey_click)
    app.callback(
        Output(ids.PATHWAYS_MESSAGE, "children"),
        Output(ids.BOTTLENECK_TEXT, "children"),
        Output(ids.SANKEY_GRAPH, "figure"),
        Output(ids.DURATIONS_GRAPH, "figure"),
        Output(ids.DURATIONS_TABLE, "children"),
        Output(ids.BREAKDOWN_SITE_GRID, "rowData"),
        Output(ids.BREAKDOWN_PAYER_GRID, "rowData"),
        Output(ids.BREAKDOWN_SITE_CARD, "style"),
        Output(ids.BREAKDOWN_PAYER_CARD, "style"),
        Input(ids.COHORT_QUERY, "data"),
    )(update_pathways)
