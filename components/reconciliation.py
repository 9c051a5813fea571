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


def reconciliation_body(counts, labels: dict, adherence: dict | None = None) -> html.Div:
    """``counts``: data.cohorts.CompletionReconciliation; ``labels``: the pathway's words
    (screened, not_screened, positive); ``adherence``: the Scenarios engine's baseline
    ({"rate", "patients"}) when it is available."""
    n = formatting.count
    low, high = counts.adherence_bounds
    scenario_value = (formatting.percent(adherence["rate"]) if adherence else
                      f"{formatting.percent(low)}–{formatting.percent(high)}")
    scenario_denominator = n(adherence["patients"]) if adherence else n(counts.positive)
    rows = [
        _row(f"{labels['first']} uptake", "Overview KPI",
             f"{labels['screened']}: {n(counts.screened)}",
             f"{n(counts.screened)} + {labels['not_screened'].lower()} with the window closed "
             f"{n(counts.not_screened)} = {n(counts.screened + counts.not_screened)}",
             formatting.percent(counts.screening_uptake)),
        _row(f"{labels['screened']}: % of previous", "Overview funnel",
             n(counts.screened), f"enrolled {n(counts.enrolled)} (incl. {n(counts.awaiting_screening)} still "
                                 "inside their window)", formatting.percent(counts.screened_of_enrolled)),
        _row("Completion rate", "Overview KPI, Pathways breakdowns",
             f"completed {n(counts.completed)}",
             f"completed {n(counts.completed)} + dropped out {n(counts.dropped_out)} = "
             f"{n(counts.completed + counts.dropped_out)} (resolved)", formatting.percent(counts.completion_rate)),
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
