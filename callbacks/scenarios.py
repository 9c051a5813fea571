"""Scenarios page callbacks: presets set the levers; the levers and the cohort give a fast
projection (model-based and arithmetic); a separate, slower callback checks it against the
ground-truth re-simulation when the data is synthetic."""
from __future__ import annotations

from dataclasses import dataclass

import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, ctx, html, no_update

from callbacks import access_scope, context, suppression
from callbacks.overview import EMPTY_COHORT_MESSAGE
from components import formatting, ids
from components.figures import empty_figure, scenario_funnel_figure
from components.scenario_view import (NO_CHANGE, interval, methods_table, money, share_of_true_gain,
                                      signed_patients, signed_percent, truth_table)
from data.pathway import DECISION_STAGES
from ml.scenario_levers import PRESETS, ScenarioLevers

PRESET_CHOICES = {NO_CHANGE: ScenarioLevers(), **PRESETS}

# The lever controls, in the order the callbacks take (and the preset callback sets) their values.
CONTROL_IDS = (ids.SCENARIO_SCREENING,
               *(ids.SCENARIO_ATTENDANCE[stage] for stage in DECISION_STAGES),
               *(ids.SCENARIO_WAIT_CUT[stage] for stage in DECISION_STAGES),
               ids.SCENARIO_OUTREACH_TOP, ids.SCENARIO_OUTREACH_EFFECT, ids.SCENARIO_COST_PER_CONTACT)

NO_MODEL_MESSAGE = ("Scenarios need the dropout-risk model, which is not available yet. It is trained once when the "
                    "app starts; reload this page in a minute.")
TRUTH_PROMPT = ("Press the button to re-simulate these same patients under the levers and compare the projections "
                "with what actually happens in the simulation.")
NO_TRUTH_MESSAGE = ("No ground truth is available: this data is not simulated, so there is no way to re-run the same "
                    "patients under the levers. Rely on the projections and their stated biases.")


# ---------------------------------------------------------------- levers <-> controls
def _fraction(percent) -> float:
    return round(float(percent or 0) / 100, 4)


def levers_from_controls(values) -> ScenarioLevers:
    """Slider values (percent / percentage points) and cost -> ScenarioLevers (fractions).
    Raises ValueError with a readable message for values out of range."""
    screening, *rest = values
    attendance, waits = rest[:len(DECISION_STAGES)], rest[len(DECISION_STAGES):2 * len(DECISION_STAGES)]
    top, effect, cost = rest[2 * len(DECISION_STAGES):]
    return ScenarioLevers(
        screening_uptake_pp=_fraction(screening),
        attendance_pp={s: _fraction(v) for s, v in zip(DECISION_STAGES, attendance) if v},
        wait_cut_pct={s: _fraction(v) for s, v in zip(DECISION_STAGES, waits) if v},
        outreach_top_pct=_fraction(top),
        outreach_effectiveness=_fraction(effect),
        cost_per_contact=float(cost or 0),
    )


def controls_from_levers(levers: ScenarioLevers) -> list:
    """The control values that show ``levers``, in CONTROL_IDS order."""
    def percent(fraction) -> float:
        return round(fraction * 100, 2)

    return [percent(levers.screening_uptake_pp),
            *(percent(levers.attendance_pp.get(s, 0.0)) for s in DECISION_STAGES),
            *(percent(levers.wait_cut_pct.get(s, 0.0)) for s in DECISION_STAGES),
            percent(levers.outreach_top_pct), percent(levers.outreach_effectiveness), levers.cost_per_contact]


def preset_controls(preset: str) -> list:
    """Control values for a preset. A preset without outreach keeps the cost per contact the
    user typed (it costs nothing either way, and the user's figure is still right for later)."""
    levers = PRESET_CHOICES[preset]
    values = controls_from_levers(levers)
    if not levers.cost_per_contact:
        values[-1] = no_update
    return values


def apply_preset(_clicks) -> list:
    triggered = ctx.triggered_id
    if not triggered or not any(_clicks or []):
        return [no_update] * len(CONTROL_IDS)
    return preset_controls(triggered["preset"])


# ---------------------------------------------------------------- the projection
@dataclass(frozen=True)
class ScenarioView:
    """Everything the fast callback shows, in its output order."""

    message: object = None
    summary: object = None
    baseline: object = formatting.MISSING
    projected: object = formatting.MISSING
    relative: object = formatting.MISSING
    extra: object = formatting.MISSING
    cost: object = formatting.MISSING
    cost_per_extra: object = formatting.MISSING
    flags: object = None
    methods: object = None
    funnel: go.Figure | None = None
    state: dict | None = None  # levers + cohort of the projection shown; None when there is none

    @property
    def body_hidden(self) -> bool:
        return self.state is None

    def as_outputs(self) -> tuple:
        return (self.message, self.body_hidden, self.summary, self.baseline, self.projected, self.relative,
                self.extra, self.cost, self.cost_per_extra, self.flags, self.methods,
                self.funnel if self.funnel is not None else empty_figure("Nothing to project"), self.state)


def _alert(text: str, color: str = "warning") -> dbc.Alert:
    return dbc.Alert(text, color=color, className="mb-3")


def _with_interval(value: str, bounds, fmt) -> list:
    return [value, html.Div(interval(bounds, fmt), className="kpi-interval")]


def summary_text(result: dict) -> str:
    extra = result["extra_completions"]
    cost_per = result["cost_per_extra_completion"]
    cost_part = f", at {money(cost_per)} of outreach per extra completion" if cost_per is not None else ""
    return (f"Of {formatting.count(result['patients'])} patients with a positive screen, "
            f"{formatting.percent(result['baseline_completion_rate'])} complete (adherence) today. "
            f"With these levers the model projects {formatting.percent(result['projected_completion_rate'])}: "
            f"{signed_patients(extra)} patients completing{cost_part}.")


def _flags(result: dict):
    levers = result["arithmetic_only_levers"]
    if not levers:
        return None
    return dbc.Alert([html.Strong("Arithmetic only: "),
                      f"{' and '.join(levers)} brings new patients into the pathway, whom no model has seen, so "
                      "both methods count them at the cohort's average completion (likely optimistic: patients "
                      "who screen only after a drive tend to engage less)."], color="info", className="mb-3")


def _cost_note(result: dict) -> list:
    levers = result["levers"]
    return [money(result["programme_cost"]),
            html.Div(f"{formatting.count(result['contacted'])} contacts × {money(levers['cost_per_contact'])}",
                     className="kpi-interval")]


def _cost_per_extra(result: dict) -> list:
    if result["cost_per_extra_completion"] is None:
        why = "no outreach cost" if not result["programme_cost"] else "no extra completions"
        return [formatting.MISSING, html.Div(why, className="kpi-interval")]
    return _with_interval(money(result["cost_per_extra_completion"]), result["cost_per_extra_completion_ci"], money)


def scenario_view(cohort_query: str | None, *control_values) -> ScenarioView:
    """Project the levers in ``control_values`` (CONTROL_IDS order) onto the cohort in ``cohort_query``."""
    data = context.current()
    engine = data.scenarios
    if engine is None:
        if data.scenarios_unavailable:
            return ScenarioView(message=_alert(f"Scenarios are not available for this data: "
                                               f"{data.scenarios_unavailable}."))
        if data.models_unavailable:
            return ScenarioView(message=_alert(f"Scenarios need the dropout-risk model. {data.models_unavailable}"))
        return ScenarioView(message=_alert(NO_MODEL_MESSAGE, "info"))
    try:
        levers = levers_from_controls(control_values)
    except ValueError as error:
        return ScenarioView(message=_alert(f"These levers cannot be projected: {error}."))
    cohort = context.cohort_frame(cohort_query)
    if cohort.empty:
        return ScenarioView(message=_alert(EMPTY_COHORT_MESSAGE))
    result = engine.project(levers, cohort_ids=cohort["patient_id"], with_truth=False)
    if result["patients"] == 0:
        return ScenarioView(message=_alert(f"{result['message']} Widen the filters or press Reset."))
    if access_scope.suppresses_small_counts() and (suppression.is_small(result["patients"])
                                                   or suppression.is_small(result.get("contacted"))):
        return ScenarioView(message=_alert(f"This cohort has {suppression.SUPPRESSED} patients with a positive "
                                           "screen (or fewer than 11 contacted): counts under 11 are suppressed "
                                           "for your role. Widen the filters."))
    baseline, projected = result["baseline_completion_rate"], result["projected_completion_rate"]
    return ScenarioView(
        summary=summary_text(result),
        baseline=[formatting.percent(baseline),
                  html.Div(f"of {formatting.count(result['patients'])} positive screens", className="kpi-interval")],
        projected=_with_interval(formatting.percent(projected), result["projected_completion_rate_ci"],
                                 formatting.percent),
        relative=[signed_percent(result["relative_improvement"]),
                  html.Div(interval(result["relative_improvement_ci"], signed_percent), className="kpi-interval"),
                  html.Div(f"{(projected - baseline) * 100:+.1f} percentage points", className="kpi-interval")],
        extra=_with_interval(signed_patients(result["extra_completions"]), result["extra_completions_ci"],
                             signed_patients),
        cost=_cost_note(result),
        cost_per_extra=_cost_per_extra(result),
        flags=_flags(result),
        methods=methods_table(result),
        funnel=scenario_funnel_figure(pd.DataFrame(result["funnel"])),
        state={"levers": levers.to_dict(), "cohort_query": cohort_query or ""},
    )


def update_scenario(cohort_query: str | None, *control_values) -> tuple:
    return scenario_view(cohort_query, *control_values).as_outputs()


# ---------------------------------------------------------------- ground truth
def truth_view(state: dict | None):
    """The projections beside the ground-truth re-simulation of the same patients (slow: seconds
    at full size, so never part of the slider callback)."""
    engine = context.current().scenarios
    if engine is None or not state:
        return None
    if engine.resimulator is None:
        return dbc.Alert(NO_TRUTH_MESSAGE, color="secondary", className="mb-0")
    levers = ScenarioLevers(**state["levers"])
    cohort_ids = context.cohort_frame(state["cohort_query"])["patient_id"]
    result = engine.project(levers, cohort_ids=cohort_ids, with_truth=True, resamples=0)
    if result["patients"] == 0:
        return None
    if access_scope.suppresses_small_counts() and suppression.is_small(result["patients"]):
        return None
    truth = result["true_extra_completions"]
    model_share = share_of_true_gain(result["methods"]["model"]["extra_completions"], truth)
    arithmetic_share = share_of_true_gain(result["methods"]["arithmetic"]["extra_completions"], truth)
    verdict = (f"Re-simulated, {signed_patients(truth)} patients complete. The model-based projection recovers "
               f"{model_share} of that gain, the arithmetic {arithmetic_share}; 'How to read this' says why they "
               "differ." if model_share else
               f"Re-simulated, {signed_patients(truth)} patients complete: too small a change to compare methods.")
    return html.Div([
        truth_table(result),
        html.P(verdict, className="scenario-verdict mb-1"),
        html.P("Ground truth baseline is the simulation's full future for the same patients, so it can differ "
               "slightly from the baseline estimated from the data.", className="kpi-note mb-0"),
    ])


def truth_prompt(state: dict | None):
    return html.P(TRUTH_PROMPT, className="kpi-note mb-0") if state else None


def update_truth(_clicks, state: dict | None):
    """The truth check when the button is pressed; back to the prompt whenever the levers change."""
    if ctx.triggered_id == ids.SCENARIO_TRUTH_BUTTON:
        return truth_view(state)
    return truth_prompt(state)


def register_callbacks(app: Dash) -> None:
    app.callback(
        [Output(control_id, "value") for control_id in CONTROL_IDS],
        Input({"type": ids.SCENARIO_PRESET, "preset": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )(apply_preset)
    app.callback(
        Output(ids.SCENARIO_MESSAGE, "children"),
        Output(ids.SCENARIO_BODY, "hidden"),
        Output(ids.SCENARIO_SUMMARY, "children"),
        Output(ids.SCENARIO_KPI_BASELINE, "children"),
        Output(ids.SCENARIO_KPI_PROJECTED, "children"),
        Output(ids.SCENARIO_KPI_RELATIVE, "children"),
        Output(ids.SCENARIO_KPI_EXTRA, "children"),
        Output(ids.SCENARIO_KPI_COST, "children"),
        Output(ids.SCENARIO_KPI_COST_PER_EXTRA, "children"),
        Output(ids.SCENARIO_FLAGS, "children"),
        Output(ids.SCENARIO_METHODS, "children"),
        Output(ids.SCENARIO_FUNNEL_GRAPH, "figure"),
        Output(ids.SCENARIO_STATE, "data"),
        Input(ids.COHORT_QUERY, "data"),
        *(Input(control_id, "value") for control_id in CONTROL_IDS),
    )(update_scenario)
    app.callback(
        Output(ids.SCENARIO_TRUTH, "children"),
        Input(ids.SCENARIO_TRUTH_BUTTON, "n_clicks"),
        Input(ids.SCENARIO_STATE, "data"),
    )(update_truth)
