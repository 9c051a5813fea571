"""Quality page callbacks: the pathway definition's follow-up measures on the cohort —
numerator, denominator, exclusions, the rate with its Wilson interval by site and by
month, and the patients in the numerator gap."""
from __future__ import annotations

from dataclasses import dataclass

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
import numpy as np
import pandas as pd
from dash import Dash, Input, Output, html

from callbacks import access_scope, context, suppression
from callbacks.overview import EMPTY_COHORT_MESSAGE
from components import ids
from components.figures import empty_figure
from components.measure_figures import measure_trend_figure
from components.measure_view import (
    GAP_LIST_LIMIT,
    definition_text,
    gap_patient_links,
    rate_table,
    summary,
)
from data.measures import result_of

SEPARATOR = "/"


@dataclass(frozen=True)
class QualityView:
    message: object
    definition: object
    summary: object
    trend: go.Figure
    site_table: object
    gap: object

    def as_outputs(self) -> tuple:
        return self.message, self.definition, self.summary, self.trend, self.site_table, self.gap


def measure_options() -> list[dict]:
    """One option per (program, measure) of the pathway definition (none: no options)."""
    pathway = context.pathway()
    return [{"label": f"{pathway.program_labels[program]}: {measure.label}",
             "value": f"{program}{SEPARATOR}{measure.name}"} for program, measure in pathway.measures]


def _measure(value: str | None):
    measures = context.pathway().measures
    for program, measure in measures:
        if value == f"{program}{SEPARATOR}{measure.name}":
            return program, measure
    return measures[0] if measures else (None, None)


GAP_HIDDEN = "The patients in the numerator gap are listed for coordinators (their sites) and admins only."


def gap_patients(result, cohort_query: str | None):
    """The numerator gap's patients as links to their Patient pages. Patient-level: hidden from
    aggregate-only roles (the rest of the page is theirs, so no 403 here), limited to a
    coordinator's sites, and audited whenever a list is shown."""
    principal = access_scope.current()
    if principal is None or not principal.sees_patients:
        return html.P(GAP_HIDDEN, className="text-muted")
    in_scope = access_scope.in_scope(pd.DataFrame({"patient_id": [str(p) for p in result.gap_patient_ids]}))
    patient_ids = in_scope["patient_id"].tolist()
    if not patient_ids:
        return html.P("Nobody in the numerator gap.", className="text-muted")
    follow_up_name = context.pathway().stage_name(result.program, result.measure.follow_up_stage)
    links = gap_patient_links(patient_ids, cohort_query, follow_up_name)
    access_scope.audit("quality_gap_view", "/quality", patient_ids[:GAP_LIST_LIMIT])
    return links


def quality_view(cohort_query: str | None, measure_value: str | None) -> QualityView:
    pathway = context.pathway()
    program, measure = _measure(measure_value)
    blank = empty_figure("Nothing to show")
    if measure is None:
        message = dbc.Alert(f"The pathway definition ({pathway.source}) defines no quality measures; "
                            "docs/pathway.md says how to add one.", color="info", className="mb-3")
        return QualityView(message, None, None, blank, None, None)
    app_data = context.current()
    in_cohort = context.cohort_rows(cohort_query)
    if len(in_cohort) == 0:
        return QualityView(dbc.Alert(EMPTY_COHORT_MESSAGE, color="warning", className="mb-3"),
                           definition_text(measure, pathway, program), None, blank, None, None)
    # The cohort's patients' rows of the whole population's evaluation (evaluated once per measure).
    evaluated, rows = app_data.measure_evaluation(program, measure)
    member = np.zeros(len(app_data.cohort_frame), dtype=bool)
    member[in_cohort] = True
    mine = evaluated[member[rows]].reset_index(drop=True)
    result = result_of(mine, program, measure, app_data.dataset.as_of)
    message = None
    if result.overall["denominator"].iloc[0] == 0:
        message = dbc.Alert(f"Nobody in this cohort is in the measure's denominator (it counts "
                            f"{pathway.program_labels[program]} patients only).", color="info", className="mb-3")
    overall, by_site, by_month, note = result.overall, result.by_site, result.by_month, None
    if access_scope.suppresses_small_counts():
        overall, by_site = suppression.measure_rates(overall), suppression.measure_rates(by_site)
        by_month, truncated = suppression.measure_trend(by_month)
        note = suppression.TRUNCATED_NOTE if truncated else None
    trend = (measure_trend_figure(by_month, note) if (by_month["denominator"] > 0).any()
             else empty_figure(note or "No evaluable patients"))
    return QualityView(message, definition_text(measure, pathway, program), summary(overall), trend,
                       rate_table(by_site, "Site"), gap_patients(result, cohort_query))


def update_quality(cohort_query, measure_value) -> tuple:
    return quality_view(cohort_query, measure_value).as_outputs()


def register_callbacks(app: Dash) -> None:
    app.callback(
        Output(ids.QUALITY_MESSAGE, "children"),
        Output(ids.QUALITY_DEFINITION, "children"),
        Output(ids.QUALITY_SUMMARY, "children"),
        Output(ids.QUALITY_TREND_GRAPH, "figure"),
        Output(ids.QUALITY_SITE_TABLE, "children"),
        Output(ids.QUALITY_GAP, "children"),
        Input(ids.COHORT_QUERY, "data"),
        Input(ids.QUALITY_MEASURE, "value"),
    )(update_quality)
