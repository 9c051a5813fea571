"""Scenarios page callbacks: presets set the levers; the levers and the cohort give a fast
projection (model-based and arithmetic); a background job (app.background) checks it against
the ground-truth re-simulation when the data is synthetic, with its progress on the page."""
from __future__ import annotations

from dataclasses import dataclass

import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, State, ctx, html, no_update

from callbacks import access_scope, context, jobs, suppression
from callbacks.overview import EMPTY_COHORT_MESSAGE
from components import formatting, ids
from components.figures import empty_figure, scenario_funnel_figure
from components.scenario_view import (ADHERENCE, NO_CHANGE, attribution_table, interval, methods_table, money,
                                      share_of_true_gain, signed_patients, signed_percent, truth_table)
from data.input_errors import InvalidInput, kind
from data.pathway import DECISION_STAGES
from ml.scenarios.levers import PRESETS, ScenarioLevers, lever_number, levers_from_dict, preset_levers

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
def _fraction(percent, field: str = "scenario lever") -> float:
    return round(lever_number(percent, field) / 100, 4)


def levers_from_controls(values) -> ScenarioLevers:
    """Slider values (percent / percentage points) and cost -> ScenarioLevers (fractions).
    Raises ValueError with a readable message for values out of range, and InvalidInput
    (a ValueError too) for values that are not numbers at all."""
    if len(values) != len(CONTROL_IDS):
        raise InvalidInput("scenario levers", f"expected {len(CONTROL_IDS)} control values, got {len(values)}")
    screening, *rest = values
    attendance, waits = rest[:len(DECISION_STAGES)], rest[len(DECISION_STAGES):2 * len(DECISION_STAGES)]
    top, effect, cost = rest[2 * len(DECISION_STAGES):]
    return ScenarioLevers(
        screening_uptake_pp=_fraction(screening),
        attendance_pp={s: _fraction(v) for s, v in zip(DECISION_STAGES, attendance) if v},
        wait_cut_pct={s: _fraction(v) for s, v in zip(DECISION_STAGES, waits) if v},
        outreach_top_pct=_fraction(top),
        outreach_effectiveness=_fraction(effect),
        cost_per_contact=lever_number(cost, "scenario cost per contact"),
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
    levers = PRESET_CHOICES[NO_CHANGE] if preset == NO_CHANGE else preset_levers(preset)
    values = controls_from_levers(levers)
    if not levers.cost_per_contact:
        values[-1] = no_update
    return values


def apply_preset(_clicks) -> list:
    triggered = ctx.triggered_id
    if _clicks is not None and not isinstance(_clicks, list):
        raise InvalidInput("scenario preset clicks", f"expected a list, got {kind(_clicks)}")
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
    uncosted = [row["lever"] for row in result.get("attribution", []) if row["cost"] is None]
    cost_part = (f", at {money(cost_per)} of outreach per extra patient the outreach itself keeps"
                 if cost_per is not None else "")
    if cost_part and uncosted:
        cost_part += f" ({' and '.join(uncosted)}: cost not modelled)"
    return (f"Of {formatting.count(result['patients'])} patients with a positive screen, "
            f"{formatting.percent(result['baseline_completion_rate'])} are not lost to follow-up today "
            f"({ADHERENCE}). "
            f"With these levers the model projects {formatting.percent(result['projected_completion_rate'])}: "
            f"{signed_patients(extra)} patients not lost{cost_part}.")


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
    uncosted = [row["lever"] for row in result.get("attribution", []) if row["cost"] is None]
    if result["cost_per_extra_completion"] is None:
        why = "no outreach cost" if not result["programme_cost"] else "no extra patients from outreach"
        if uncosted:
            why += f"; {' and '.join(uncosted)}: cost not modelled"
        return [formatting.MISSING, html.Div(why, className="kpi-interval")]
    outreach_extra = result["outreach_extra_completions"]
    return [money(result["cost_per_extra_completion"]),
            html.Div(interval(result["cost_per_extra_completion_ci"], money), className="kpi-interval"),
            html.Div(f"outreach only: {money(result['programme_cost'])} ÷ {signed_patients(outreach_extra)} "
                     "extra from outreach" + (f"; {' and '.join(uncosted)}: cost not modelled" if uncosted else ""),
                     className="kpi-interval")]


def _level_cards(result: dict) -> tuple[list, list, list]:
    """Today's, projected and change cards that agree with the extra patients: each rate with
    its numerator and denominator. A screening drive adds positive screens assumed to adhere at
    today's rate, so it adds patients without moving the rate; the change card then says both."""
    patients, new_positives = result["patients"], result["extra_positive_screens"]
    baseline, projected = result["baseline_completion_rate"], result["projected_completion_rate"]
    kept_today = baseline * patients
    kept_projected = kept_today + result["extra_completions"]
    denominator = patients + new_positives
    baseline_card = [formatting.percent(baseline),
                     html.Div(f"≈{formatting.count(round(kept_today))} of {formatting.count(patients)} positive screens",
                              className="kpi-interval")]
    rate = kept_projected / denominator if denominator else projected
    projected_card = [formatting.percent(rate),
                      html.Div("" if new_positives else interval(result["projected_completion_rate_ci"],
                                                                 formatting.percent), className="kpi-interval"),
                      html.Div(f"≈{formatting.count(round(kept_projected))} of {formatting.count(round(denominator))} "
                               "positive screens" + (f" (incl. {formatting.count(round(new_positives))} new from "
                                                     "screening)" if new_positives else ""),
                               className="kpi-interval")]
    more_patients = result["extra_completions"] / kept_today if kept_today else None
    change_card = [signed_percent(more_patients),
                   html.Div("" if new_positives else interval(result["relative_improvement_ci"], signed_percent),
                            className="kpi-interval"),
                   html.Div(f"{(rate - baseline) * 100:+.1f} percentage points in the rate"
                            + (" (new screens assumed at today's rate)" if new_positives else ""),
                            className="kpi-interval")]
    return baseline_card, projected_card, change_card


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
    except InvalidInput:
        raise  # a forged value, not a slider out of range: the web layer answers 400
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
    baseline_card, projected_card, change_card = _level_cards(result)
    return ScenarioView(
        summary=summary_text(result),
        baseline=baseline_card,
        projected=projected_card,
        relative=change_card,
        extra=_with_interval(signed_patients(result["extra_completions"]), result["extra_completions_ci"],
                             signed_patients),
        cost=_cost_note(result),
        cost_per_extra=_cost_per_extra(result),
        flags=_flags(result),
        methods=html.Div([methods_table(result), attribution_table(result["attribution"])]),
        funnel=scenario_funnel_figure(pd.DataFrame(result["funnel"])),
        state={"levers": levers.to_dict(), "cohort_query": cohort_query or ""},
    )


def update_scenario(cohort_query: str | None, *control_values) -> tuple:
    return scenario_view(cohort_query, *control_values).as_outputs()


# ---------------------------------------------------------------- ground truth
def truth_view(state: dict | None, progress=None):
    """The projections beside the ground-truth re-simulation of the same patients (slow: seconds
    at full size, so never part of the slider callback). ``progress(done, total)`` is called
    after each re-simulation."""
    engine = context.current().scenarios
    levers = checked_state(state)
    if engine is None or levers is None:
        return None
    if engine.resimulator is None:
        return dbc.Alert(NO_TRUTH_MESSAGE, color="secondary", className="mb-0")
    cohort_ids = context.cohort_frame(state.get("cohort_query"))["patient_id"]
    result = engine.project(levers, cohort_ids=cohort_ids, with_truth=True, intervals=False, progress=progress)
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


def checked_state(state: dict | None) -> ScenarioLevers | None:
    """The levers of the projection shown (None before there is one); InvalidInput for a
    state that is not the one the projection callback writes (it comes from the browser)."""
    if state is not None and not isinstance(state, dict):
        raise InvalidInput("scenario state", f"expected an object, got {kind(state)}")
    if not state:
        return None
    unknown = set(state) - {"levers", "cohort_query"}
    if unknown or "levers" not in state:
        raise InvalidInput("scenario state", "expected exactly the keys 'levers' and 'cohort_query'")
    return levers_from_dict(state["levers"])


def truth_prompt(state: dict | None):
    return html.P(TRUTH_PROMPT, className="kpi-note mb-0") if checked_state(state) is not None else None


def truth_progress_outputs(done: int, total: int) -> tuple:
    """(value, max, label) of the progress bar after ``done`` of ``total`` re-simulations."""
    return done, max(total, 1), jobs.progress_label(done, total, "Re-simulation")


TRUTH_PROGRESS_START = (0, 1, "Starting the re-simulation…")


def check_truth(set_progress, _clicks, state: dict | None):
    """The background job behind the button: the truth check for the user who pressed it,
    reporting each re-simulation as it finishes. Runs in a process of its own, so the page
    (and the worker that served it) stays responsive meanwhile."""
    def progress(done: int, total: int) -> None:
        set_progress(truth_progress_outputs(done, total))

    try:
        return jobs.run_as_requester(truth_view, state, progress)
    except InvalidInput as error:  # a forged state: say what is wrong, as the web layer's 400 would
        return _alert(f"Invalid input: {error}.", "danger")


def update_truth(state: dict | None):
    """Back to the prompt whenever the levers or the cohort change (a running check is cancelled)."""
    return truth_prompt(state)


def register_callbacks(app: Dash, manager=None) -> None:
    """``manager``: the background-callback manager (app.background) that runs the truth check."""
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
        Input(ids.SCENARIO_STATE, "data"),
    )(update_truth)
    app.callback(
        Output(ids.SCENARIO_TRUTH, "children", allow_duplicate=True),
        Input(ids.SCENARIO_TRUTH_BUTTON, "n_clicks"),
        State(ids.SCENARIO_STATE, "data"),
        background=True,
        manager=manager,
        progress=[Output(ids.SCENARIO_TRUTH_PROGRESS, "value"), Output(ids.SCENARIO_TRUTH_PROGRESS, "max"),
                  Output(ids.SCENARIO_TRUTH_PROGRESS, "label")],
        progress_default=list(TRUTH_PROGRESS_START),
        running=[(Output(ids.SCENARIO_TRUTH_BUTTON, "disabled"), True, False),
                 (Output(ids.SCENARIO_TRUTH_RUNNING, "hidden"), False, True)],
        # New levers or cohort make a running check moot: stop it rather than show a stale truth.
        cancel=[Input(ids.SCENARIO_TRUTH_CANCEL, "n_clicks"), Input(ids.SCENARIO_STATE, "data")],
        interval=500,
        prevent_initial_call=True,
    )(check_truth)
