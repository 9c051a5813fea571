""""How these numbers relate": a button and a modal that put the rates speaking of screening
and completion side by side, each with its numerator and denominator (one click away on the
Overview, Pathways and Scenarios pages)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from components import formatting, ids

BUTTON_LABEL = "How these numbers relate"


def reconciliation_button() -> html.Div:
    """The button and its (closed) modal; callbacks.overview fills the body when it is opened."""
    return html.Div([
        dbc.Button(BUTTON_LABEL, id=ids.RECONCILE_BUTTON, color="link", size="sm", className="reconcile-button p-0"),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle(BUTTON_LABEL)),
            dbc.ModalBody(html.Div(id=ids.RECONCILE_BODY)),
        ], id=ids.RECONCILE_MODAL, size="lg", is_open=False, scrollable=True),
    ], className="reconcile")


def _row(measure: str, where: str, numerator: str, denominator: str, value: str) -> html.Tr:
    return html.Tr([html.Td([html.Strong(measure), html.Div(where, className="kpi-note")]), html.Td(numerator),
                    html.Td(denominator), html.Td(value, className="text-end")])


def _exact_rate(value, *counts) -> str:
    return formatting.percent(value)


def reconciliation_body(counts, labels: dict, adherence: dict | None = None, count=formatting.count,
                        rate=_exact_rate) -> html.Div:
    """``counts``: data.cohorts.CompletionReconciliation; ``labels``: the pathway's words
    (screened, not_screened, positive); ``adherence``: the Scenarios engine's baseline
    ({"rate", "patients"}) when it is available. ``count(n)`` and ``rate(value, *counts it
    rests on)`` format the cells (callbacks.suppression's for aggregate-only users)."""
    n = count
    low, high = counts.adherence_bounds
    adherence_parts = (counts.completed, counts.exited_after_positive, counts.in_progress_after_positive,
                       counts.positive, *([adherence["patients"]] if adherence else []))
    bounds = (rate(low, *adherence_parts), rate(high, *adherence_parts))
    scenario_value = (rate(adherence["rate"], *adherence_parts) if adherence
                      else bounds[0] if bounds[0] == bounds[1] else f"{bounds[0]}–{bounds[1]}")
    scenario_denominator = n(adherence["patients"]) if adherence else n(counts.positive)
    rows = [
        _row(f"{labels['first']} uptake", "Overview KPI",
             f"{labels['screened']}: {n(counts.screened)}",
             f"{n(counts.screened)} + {labels['not_screened'].lower()} with the window closed "
             f"{n(counts.not_screened)} = {n(counts.screened + counts.not_screened)}",
             rate(counts.screening_uptake, counts.screened, counts.not_screened)),
        _row(f"{labels['screened']}: % of previous", "Overview funnel",
             n(counts.screened), f"enrolled {n(counts.enrolled)} (incl. {n(counts.awaiting_screening)} still "
                                 "inside their window)",
             rate(counts.screened_of_enrolled, counts.screened, counts.enrolled, counts.awaiting_screening)),
        _row("Completion rate", "Overview KPI, Pathways breakdowns",
             f"completed {n(counts.completed)}",
             f"completed {n(counts.completed)} + dropped out {n(counts.dropped_out)} = "
             f"{n(counts.completed + counts.dropped_out)} (resolved)",
             rate(counts.completion_rate, counts.completed, counts.dropped_out)),
        _row("Adherence (not lost to follow-up)", "Scenarios",
             f"completed {n(counts.completed)} + exited appropriately {n(counts.exited_after_positive)} + the "
             f"share of {n(counts.in_progress_after_positive)} in progress expected not to drop out",
             f"{labels['positive'].lower()} {scenario_denominator}", scenario_value),
    ]
    head = html.Thead(html.Tr([html.Th("Measure"), html.Th("Numerator"), html.Th("Denominator"),
                               html.Th("Value", className="text-end")]))
    return html.Div([
        html.P(f"This cohort: {n(counts.enrolled)} enrolled; {n(counts.positive)} with a "
               f"{labels['positive'].lower()} = completed {n(counts.completed)} + exited appropriately "
               f"{n(counts.exited_after_positive)} + dropped out {n(counts.dropped_out)} + in progress "
               f"{n(counts.in_progress_after_positive)}."),
        dbc.Table([head, html.Tbody(rows)], size="sm", bordered=False, className="reconcile-table"),
        html.Ul([
            html.Li("Uptake leaves out patients still inside their screening window; the funnel's step conversion "
                    "divides by everyone enrolled, so it is lower while windows are open."),
            html.Li("The completion rate counts only resolved patients (completed or dropped out); appropriate "
                    "exits and patients in progress are left out."),
            html.Li("Adherence counts every patient with a positive screen: appropriate exits count as not lost, "
                    "and patients in progress count with their calibrated chance of not dropping out (between the "
                    "two bounds when the model is not available)."),
        ], className="kpi-note mb-0"),
    ])
