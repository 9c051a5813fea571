"""Journeys page callbacks: time to the next stage with competing exits (cumulative
incidence by cohort or up to three compared groups, with its risk table) and the journey
variants, whose rows select their patients on every page (the URL's ``variant=``)."""
from __future__ import annotations

from dataclasses import dataclass

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, no_update

from callbacks import access_scope, analytics, context, suppression
from callbacks.overview import EMPTY_COHORT_MESSAGE
from components import ids
from components.figures import empty_figure
from components.incidence_figures import incidence_figure
from components.journey_view import risk_table, variant_rows
from data.analytics.time_to_next_stage import (
    CENSOR_REASON_LABELS,
    DROPPED_OUT,
    EXITED,
    REACHED,
    estimate_of_counts,
    event_labels,
    risk_table_days,
)
from data.analytics.variants import OTHER, code_for_key
from data.cohort_filter import VARIANT_KEY

MAX_GROUPS = 3
COMPARE_COLUMNS = {"site": "Site", "payer": "Payer", "program": "Program"}
TOP_VARIANTS = 12


@dataclass(frozen=True)
class JourneysView:
    message: object
    incidence: go.Figure
    risk_table: object
    variant_rows: list
    variants_note: str

    def as_outputs(self) -> tuple:
        return self.message, self.incidence, self.risk_table, self.variant_rows, self.variants_note


def compare_options() -> list[dict]:
    """"Cohort" and every attribute the data can compare by (two or more values)."""
    app_data = context.current()
    options = [{"label": "Whole cohort", "value": ""}]
    options += [{"label": label, "value": column} for column, label in COMPARE_COLUMNS.items()
                if app_data.has_breakdown(column)]
    return options


def group_options(cohort_query: str | None, compare_by: str | None) -> list[dict]:
    """The compared attribute's values in the cohort, largest first."""
    if not compare_by or compare_by not in COMPARE_COLUMNS:
        return []
    values = context.current().cohort_frame[compare_by].iloc[context.cohort_rows(cohort_query)]
    counts = values.dropna().astype(str).value_counts()
    labels = context.pathway().program_labels if compare_by == "program" else {}
    count = suppression.count_text if access_scope.suppresses_small_counts() else "{:,}".format
    return [{"label": f"{labels.get(v, v)} ({count(n)})", "value": v} for v, n in counts.items()]


def _events_for(stage) -> tuple[int, ...]:
    return (REACHED, EXITED, DROPPED_OUT) if stage.ends else (REACHED, DROPPED_OUT)


def incidence_view(cohort_rows, awaiting_stage: str, compare_by: str | None, groups) -> tuple:
    """(figure, risk table) for the decision points awaiting ``awaiting_stage`` of the
    patients at ``cohort_rows`` (the cohort's positions in the cohort frame)."""
    app_data = context.current()
    pathway = context.pathway()
    if awaiting_stage not in pathway.decision_stages:
        awaiting_stage = pathway.decision_stages[0]
    follow_up = app_data.stage_follow_up(awaiting_stage)
    in_cohort = follow_up.in_cohort(cohort_rows)
    cohort = follow_up.counts(in_cohort)
    if cohort.n == 0:
        return empty_figure("No decision points awaiting this stage in the cohort"), None
    days = risk_table_days(cohort.times[-1])
    groups = [str(g) for g in (groups or [])][:MAX_GROUPS]
    if compare_by in COMPARE_COLUMNS and groups:
        labels = pathway.program_labels if compare_by == "program" else {}
        estimates = [estimate_of_counts(follow_up.counts(in_cohort & follow_up.group(compare_by, g)),
                                        labels.get(g, g), days) for g in groups]
        estimates = [e for e in estimates if e.n]
    else:
        estimates = [estimate_of_counts(cohort, "Cohort", days)]
    if not estimates:
        return empty_figure("None of the chosen groups has a decision point here"), None
    stage = pathway.stage(awaiting_stage)
    labels = event_labels(awaiting_stage, pathway)
    events = _events_for(stage)
    if access_scope.suppresses_small_counts():
        return _suppressed_incidence(estimates, labels, events)
    return (incidence_figure(estimates, labels, events),
            risk_table(estimates, labels, events, CENSOR_REASON_LABELS))


CURVE_CUT_NOTE = "Curves stop where fewer than 11 remain at risk (your role sees no smaller groups)"
SMALL_GROUPS_NOTE = "Groups with fewer than 11 decision points are not shown for your role"


def _suppressed_incidence(estimates, labels, events) -> tuple:
    """For aggregate-only users: groups under 11 left out, each curve cut where fewer than 11
    remain at risk (saying so), and small risk-table cells as "<11"."""
    shown = [e for e in estimates if not suppression.is_small(e.n)]
    if not shown:
        return empty_figure(SMALL_GROUPS_NOTE), None
    cut = [suppression.truncated_incidence(e) for e in shown]
    notes = ([CURVE_CUT_NOTE] if any(end is not None for _, end in cut) else []) + (
        [SMALL_GROUPS_NOTE] if len(shown) < len(estimates) else [])
    figure = incidence_figure([e for e, _ in cut], labels, events, ends=[end for _, end in cut],
                              note="; ".join(notes) or None)
    tables = [suppression.risk_table(e.table) for e in shown]
    return figure, risk_table(shown, labels, events, CENSOR_REASON_LABELS, tables=tables)


def journeys_view(cohort_query: str | None, awaiting_stage: str, compare_by: str | None, groups) -> JourneysView:
    cohort_rows = context.cohort_rows(cohort_query)
    if len(cohort_rows) == 0:
        blank = empty_figure("No patients in this cohort")
        return JourneysView(dbc.Alert(EMPTY_COHORT_MESSAGE, color="warning", className="mb-3"), blank, None, [], "")
    figure, table = incidence_view(cohort_rows, awaiting_stage, compare_by, groups)
    variants = analytics.variants(context.cohort_filter(cohort_query), TOP_VARIANTS)
    rows, size = variant_rows(variants), f"{len(cohort_rows):,}"
    if access_scope.suppresses_small_counts():
        rows, size = suppression.variant_rows(rows), suppression.count_text(len(cohort_rows))
    note = (f"{len(variants) - (variants['key'] == OTHER).sum()} most common of the cohort's journeys "
            f"({size} patients); click a variant to filter every page to its patients.")
    return JourneysView(None, figure, table, rows, note)


def update_journeys(cohort_query, awaiting_stage, compare_by, groups) -> tuple:
    return journeys_view(cohort_query, awaiting_stage, compare_by, groups).as_outputs()


def selection_from_variant_click(cell_clicked: dict | None, current: dict | None):
    """A click on a variant row selects its patients (the "Other variants" row selects nothing)."""
    key = (cell_clicked or {}).get("rowId")
    if not key or key == OTHER or code_for_key(key, context.pathway()) is None:
        return no_update
    return {**(current or {}), VARIANT_KEY: key}


def limit_groups(groups):
    """At most MAX_GROUPS groups are compared; extra picks are dropped."""
    return no_update if not groups or len(groups) <= MAX_GROUPS else groups[:MAX_GROUPS]


def register_callbacks(app: Dash) -> None:
    app.callback(
        Output(ids.JOURNEYS_GROUPS, "options"),
        Input(ids.COHORT_QUERY, "data"),
        Input(ids.JOURNEYS_COMPARE_BY, "value"),
    )(group_options)
    app.callback(
        Output(ids.JOURNEYS_GROUPS, "value"),
        Input(ids.JOURNEYS_GROUPS, "value"),
        prevent_initial_call=True,
    )(limit_groups)
    app.callback(
        Output(ids.JOURNEYS_MESSAGE, "children"),
        Output(ids.JOURNEYS_INCIDENCE_GRAPH, "figure"),
        Output(ids.JOURNEYS_RISK_TABLE, "children"),
        Output(ids.JOURNEYS_VARIANTS_GRID, "rowData"),
        Output(ids.JOURNEYS_VARIANTS_NOTE, "children"),
        Input(ids.COHORT_QUERY, "data"),
        Input(ids.JOURNEYS_STAGE, "value"),
        Input(ids.JOURNEYS_COMPARE_BY, "value"),
        Input(ids.JOURNEYS_GROUPS, "value"),
    )(update_journeys)
    app.callback(
        Output(ids.FILTER_SELECTION, "data", allow_duplicate=True),
        Input(ids.JOURNEYS_VARIANTS_GRID, "cellClicked"),
        State(ids.FILTER_SELECTION, "data"),
        prevent_initial_call=True,
    )(selection_from_variant_click)
