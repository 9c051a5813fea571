"""Layout pieces of the Scenarios page: the lever controls, the method comparison and the
ground-truth tables, and how their numbers read."""
from __future__ import annotations

import math

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import formatting, ids
from data.pathway import DECISION_STAGES
from data.schema import STAGE_LABELS

NO_CHANGE = "no_change"  # the preset button that clears every lever
# The Scenarios measure has its own name: it is not the Overview's completion rate (see
# data.cohorts.completion_reconciliation for how the two relate).
ADHERENCE = "adherence: they complete the pathway, exit appropriately, or are expected to"

# Slider ranges in the units the user reads (percent / percentage points).
SCREENING_MAX_PP = 20
ATTENDANCE_MAX_PP = 20
WAIT_CUT_MAX_PCT = 60
WAIT_CUT_STEP_PCT = 5
DEFAULT_COST_PER_CONTACT = 45.0


# ---------------------------------------------------------------- how numbers read
def money(value) -> str:
    return formatting.MISSING if value is None or math.isnan(value) else f"${value:,.0f}"


def signed_percent(fraction) -> str:
    return formatting.MISSING if fraction is None else f"{fraction:+.1%}"


def signed_patients(value) -> str:
    """Extra patients: whole numbers once they are large, one decimal while small."""
    if value is None:
        return formatting.MISSING
    return f"{value:+,.0f}" if abs(value) >= 10 else f"{value:+,.1f}"


def interval(bounds, fmt) -> str:
    """'95% interval a to b', or '' when the method gives no interval."""
    if not bounds:
        return ""
    return f"95% interval {fmt(bounds[0])} to {fmt(bounds[1])}"


# ---------------------------------------------------------------- lever controls
def _slider(slider_id: str, maximum: int, step: int, unit: str, marks_every: int) -> dcc.Slider:
    marks = {v: f"{v}{unit}" if v == maximum else str(v) for v in range(0, maximum + 1, marks_every)}
    return dcc.Slider(id=slider_id, min=0, max=maximum, step=step, value=0, marks=marks,
                      # The input box beside the slider shows (and takes) the exact value.
                      allow_direct_input=True, updatemode="mouseup",
                      className="lever-slider")


def _lever(label: str, control, hint: str = "") -> html.Div:
    return html.Div([
        html.Div(label, className="lever-label"),
        html.Div(hint, className="lever-hint") if hint else None,
        control,
    ], className="lever")


def _group(title: str, note: str, levers: list) -> html.Div:
    return html.Div([html.Div(title, className="lever-group-title"), html.Div(note, className="lever-hint"), *levers],
                    className="lever-group")


def preset_buttons(labels: dict) -> html.Div:
    buttons = [dbc.Button(label, id={"type": ids.SCENARIO_PRESET, "preset": name}, color="primary", outline=True,
                          size="sm", className="scenario-preset")
               for name, label in labels.items()]
    buttons.append(dbc.Button("No change (clear all levers)", id={"type": ids.SCENARIO_PRESET, "preset": NO_CHANGE},
                              color="secondary", outline=True, size="sm", className="scenario-preset"))
    return html.Div(buttons, className="scenario-presets")


def lever_controls(preset_labels: dict) -> dbc.Card:
    stages = DECISION_STAGES
    return dbc.Card(dbc.CardBody([
        html.Div("Start from a preset", className="lever-group-title"),
        preset_buttons(preset_labels),
        _group("Screening uptake", "More invited patients screened: more positive screens enter the pathway.", [
            _lever("Extra uptake", _slider(ids.SCENARIO_SCREENING, SCREENING_MAX_PP, 1, " pp", 5)),
        ]),
        _group("Attendance at the first booked appointment",
               "Percentage points more patients keep their first booking (fewer no-shows). Patients who would have "
               "rebooked in time anyway gain nothing.", [
            _lever(STAGE_LABELS[stage], _slider(ids.SCENARIO_ATTENDANCE[stage], ATTENDANCE_MAX_PP, 1, " pp", 5))
            for stage in stages
        ]),
        _group("Wait-time cuts", "Share of the wait from decision to appointment removed.", [
            _lever(STAGE_LABELS[stage], _slider(ids.SCENARIO_WAIT_CUT[stage], WAIT_CUT_MAX_PCT, WAIT_CUT_STEP_PCT,
                                                "%", 20))
            for stage in stages
        ]),
        _group("Targeted outreach", "Navigators call the in-progress patients with the highest dropout risk.", [
            _lever("Patients contacted: top % by risk", _slider(ids.SCENARIO_OUTREACH_TOP, 100, 5, "%", 25)),
            _lever("Effectiveness", _slider(ids.SCENARIO_OUTREACH_EFFECT, 100, 5, "%", 25),
                   "share of a contacted patient's dropout risk the outreach removes"),
            _lever("Cost per contact (USD)",
                   # debounce: the projection follows on Enter or leaving the box, not every keystroke.
                   dbc.Input(id=ids.SCENARIO_COST_PER_CONTACT, type="number", min=0, step=5,
                             value=DEFAULT_COST_PER_CONTACT, size="sm", className="lever-cost", debounce=True)),
        ]),
    ]), className="scenario-levers mb-3")


# ---------------------------------------------------------------- result tables
def methods_table(result: dict) -> dbc.Table:
    """Model-based (headline) and stage-conversion arithmetic projections side by side."""
    rows = [("Model-based counterfactual (headline)", result["methods"]["model"]),
            ("Stage-conversion arithmetic", result["methods"]["arithmetic"])]
    body = [html.Tr([html.Td(name), html.Td(formatting.percent(m["projected_completion_rate"])),
                     html.Td(signed_percent(m["relative_improvement"])),
                     html.Td(signed_patients(m["extra_completions"]))]) for name, m in rows]
    head = html.Thead(html.Tr([html.Th("Method"), html.Th("Projected adherence"), html.Th("Relative improvement"),
                               html.Th("Extra completions")]))
    return dbc.Table([head, html.Tbody(body)], size="sm", bordered=False, hover=True,
                     className="scenario-table mb-0")


def truth_table(result: dict) -> dbc.Table:
    """Each method beside the ground-truth re-simulation of the same patients."""
    model, arithmetic = result["methods"]["model"], result["methods"]["arithmetic"]
    baseline = result["baseline_completion_rate"]
    measures = (
        ("Adherence today", formatting.percent, baseline, baseline, result["true_baseline_completion_rate"]),
        ("Projected adherence", formatting.percent, model["projected_completion_rate"],
         arithmetic["projected_completion_rate"], result["true_completion_rate"]),
        ("Relative improvement", signed_percent, model["relative_improvement"], arithmetic["relative_improvement"],
         result["true_relative_improvement"]),
        ("Extra completions", signed_patients, model["extra_completions"], arithmetic["extra_completions"],
         result["true_extra_completions"]),
    )
    head = html.Thead(html.Tr([html.Th(""), html.Th("Model-based"), html.Th("Arithmetic"),
                               html.Th("Ground truth")]))
    body = [html.Tr([html.Td(label), html.Td(fmt(m)), html.Td(fmt(a)), html.Td(html.Strong(fmt(t)))])
            for label, fmt, m, a, t in measures]
    return dbc.Table([head, html.Tbody(body)], size="sm", bordered=False, className="scenario-table mb-2")


def share_of_true_gain(estimate: float, truth: float) -> str:
    """'82%' of the true gain, or '' when the true gain is too small to divide by."""
    return f"{estimate / truth:.0%}" if truth and abs(truth) >= 1 else ""


def attribution_table(rows: list[dict]) -> html.Div | None:
    """Extra patients per lever and, for the levers with a cost model (outreach), their cost
    per extra patient; the others are labelled "cost not modelled"."""
    if not rows:
        return None
    head = html.Thead(html.Tr([html.Th("Lever"), html.Th("Extra patients"), html.Th("Cost"),
                               html.Th("Cost per extra patient")]))
    body = [html.Tr([html.Td(row["lever"].capitalize()), html.Td(signed_patients(row["extra_completions"])),
                     html.Td(money(row["cost"]) if row["cost"] is not None else html.Em(row["cost_note"])),
                     html.Td(money(row["cost_per_extra_completion"]) if row["cost_per_extra_completion"] is not None
                             else (html.Em(row["cost_note"]) if row["cost"] is None else formatting.MISSING))])
            for row in rows]
    return html.Div([
        html.Div("Where the extra patients come from (model-based)", className="lever-group-title mt-3"),
        dbc.Table([head, html.Tbody(body)], size="sm", bordered=False, className="scenario-table mb-1"),
        html.P("Outreach is credited with what it adds on top of the other levers (it acts on the risk they "
               "leave), so the rows add up to the headline.", className="kpi-note mb-0"),
    ], className="scenario-attribution")
