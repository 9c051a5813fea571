"""Scenarios callbacks called directly (no browser) on the small generated dataset."""
import dataclasses

import dash_bootstrap_components as dbc
import pytest
from dash import html, no_update

from callbacks import context
from callbacks.overview import EMPTY_COHORT_MESSAGE
from callbacks.scenarios import (CONTROL_IDS, NO_TRUTH_MESSAGE, PRESET_CHOICES, controls_from_levers,
                                 levers_from_controls, preset_controls, scenario_view, truth_view,
                                 update_scenario)
from components import ids
from components.scenario_view import NO_CHANGE
from ml.scenarios.levers import PRESETS, ScenarioLevers
from tests.app.component_text import component_text

NO_LEVERS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 45]  # CONTROL_IDS order; cost per contact last


def _controls(**overrides):
    values = dict(zip(CONTROL_IDS, NO_LEVERS))
    values.update({ids_key: v for ids_key, v in overrides.items()})
    return [values[control_id] for control_id in CONTROL_IDS]




@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_sets_the_sliders_to_its_values(preset):
    levers = PRESETS[preset]
    values = preset_controls(preset)
    by_id = dict(zip(CONTROL_IDS, values))
    assert by_id[ids.SCENARIO_SCREENING] == pytest.approx(levers.screening_uptake_pp * 100)
    for stage, slider in ids.SCENARIO_WAIT_CUT.items():
        assert by_id[slider] == pytest.approx(levers.wait_cut_pct.get(stage, 0) * 100)
    for stage, slider in ids.SCENARIO_ATTENDANCE.items():
        assert by_id[slider] == pytest.approx(levers.attendance_pp.get(stage, 0) * 100)
    assert by_id[ids.SCENARIO_OUTREACH_TOP] == pytest.approx(levers.outreach_top_pct * 100)
    assert by_id[ids.SCENARIO_OUTREACH_EFFECT] == pytest.approx(levers.outreach_effectiveness * 100)
    if levers.cost_per_contact:
        assert by_id[ids.SCENARIO_COST_PER_CONTACT] == levers.cost_per_contact
        # Reading the controls back gives the preset itself.
        assert levers_from_controls(values) == levers
    else:
        assert by_id[ids.SCENARIO_COST_PER_CONTACT] is no_update  # the user's cost is kept


def test_no_change_clears_every_lever():
    values = preset_controls(NO_CHANGE)
    assert values[:-1] == [0] * (len(CONTROL_IDS) - 1)
    assert PRESET_CHOICES[NO_CHANGE] == ScenarioLevers()


def test_controls_round_trip_through_levers():
    levers = ScenarioLevers(screening_uptake_pp=0.05, attendance_pp={"treatment": 0.1},
                            wait_cut_pct={"diagnosis": 0.35}, outreach_top_pct=0.4, outreach_effectiveness=0.25,
                            cost_per_contact=60.0)
    assert levers_from_controls(controls_from_levers(levers)) == levers


def test_no_levers_projects_the_baseline(app_data):
    view = scenario_view("", *NO_LEVERS)
    assert view.message is None and not view.body_hidden
    result = app_data.scenarios.project(ScenarioLevers(), cohort_ids=app_data.cohort_frame["patient_id"],
                                        with_truth=False)
    assert view.baseline[0] == view.projected[0] == f"{result['baseline_completion_rate']:.1%}"
    assert view.extra[0] == "+0.0"
    assert "positive screen" in view.summary


def test_outreach_raises_extra_completions_and_costs_money(app_data):
    before = scenario_view("", *NO_LEVERS)
    after = scenario_view("", *_controls(**{ids.SCENARIO_OUTREACH_TOP: 50, ids.SCENARIO_OUTREACH_EFFECT: 50}))
    assert float(after.extra[0]) > float(before.extra[0]) == 0
    levers = levers_from_controls(_controls(**{ids.SCENARIO_OUTREACH_TOP: 50, ids.SCENARIO_OUTREACH_EFFECT: 50}))
    expected = app_data.scenarios.project(levers, cohort_ids=app_data.cohort_frame["patient_id"], with_truth=False)
    assert expected["contacted"] > 0
    assert after.cost[0] == f"${expected['programme_cost']:,.0f}"
    assert after.cost_per_extra[0] == f"${expected['cost_per_extra_completion']:,.0f}"
    assert "95% interval" in component_text(after.extra)
    assert "Model-based" in component_text(after.methods) and "arithmetic" in component_text(after.methods)
    assert after.state["levers"]["outreach_top_pct"] == 0.5


def test_wait_cut_moves_the_projection_and_the_funnel(app_data):
    view = scenario_view("", *_controls(**{ids.SCENARIO_WAIT_CUT["diagnosis"]: 35}))
    assert view.state["levers"]["wait_cut_pct"] == {"diagnosis": 0.35}
    assert float(view.extra[0]) > 0
    baseline, scenario = view.funnel.data
    assert scenario.y[1] > baseline.y[1]  # more patients diagnosed
    assert view.flags is None


def test_attendance_moves_the_model_based_headline_without_a_flag(app_data):
    view = scenario_view("", *_controls(**{ids.SCENARIO_ATTENDANCE["treatment"]: 10}))
    assert float(view.extra[0]) > 0
    assert view.flags is None


def test_arithmetic_only_levers_are_flagged(app_data):
    view = scenario_view("", *_controls(**{ids.SCENARIO_SCREENING: 10}))
    assert isinstance(view.flags, dbc.Alert)
    assert "screening uptake" in component_text(view.flags)


def test_program_filter_restricts_the_population(app_data):
    everyone = scenario_view("", *NO_LEVERS)
    diabetes = scenario_view("?program=diabetes", *NO_LEVERS)
    assert diabetes.state["cohort_query"] == "?program=diabetes"
    count = lambda view: int(component_text(view.baseline[1]).split()[2].replace(",", ""))  # "≈K of N positive screens"
    assert 0 < count(diabetes) < count(everyone)


def test_empty_cohort_gets_a_friendly_message(app_data):
    view = scenario_view("?from=2100-01-01", *NO_LEVERS)
    assert isinstance(view.message, dbc.Alert) and view.message.children == EMPTY_COHORT_MESSAGE
    assert view.body_hidden and view.state is None


def test_cohort_without_positive_screens_gets_a_friendly_message(app_data):
    population = app_data.scenarios.population()
    frame = app_data.cohort_frame
    last = frame.loc[frame["patient_id"].isin(population["patient_id"]), "enrollment_date"].max()
    query = f"?from={last + __import__('pandas').Timedelta(days=1):%Y-%m-%d}"
    if context.cohort_frame(query).empty:
        pytest.skip("every enrollee of the small dataset has a positive screen by its last enrollment date")
    view = scenario_view(query, *NO_LEVERS)
    assert "No patient in this cohort has had a positive screen yet" in view.message.children
    assert view.body_hidden


def test_invalid_cost_is_explained_not_raised(app_data):
    view = scenario_view("", *_controls(**{ids.SCENARIO_COST_PER_CONTACT: -5}))
    assert isinstance(view.message, dbc.Alert) and "must not be negative" in view.message.children
    assert view.body_hidden


def test_update_scenario_returns_one_value_per_output(app_data):
    outputs = update_scenario("", *NO_LEVERS)
    assert len(outputs) == 13 and outputs[1] is False and outputs[-1] is not None


def test_truth_returns_the_true_values_on_synthetic_data(app_data):
    levers = PRESETS["pathway_optimisation"]
    state = scenario_view("", *controls_from_levers(levers)).state
    panel = truth_view(state)
    expected = app_data.scenarios.project(levers, cohort_ids=app_data.cohort_frame["patient_id"], with_truth=True)
    text = component_text(panel)
    assert "Ground truth" in text
    assert f"{expected['true_completion_rate']:.1%}" in text
    assert f"{expected['true_baseline_completion_rate']:.1%}" in text
    assert f"{expected['true_relative_improvement']:+.1%}" in text
    assert f"{expected['true_extra_completions']:+,.0f}" in text
    assert "recovers" in text


def test_truth_says_so_when_the_data_is_not_simulated(app_data, monkeypatch):
    state = scenario_view("", *NO_LEVERS).state
    monkeypatch.setattr(app_data.scenarios, "resimulator", None)
    panel = truth_view(state)
    assert isinstance(panel, dbc.Alert) and panel.children == NO_TRUTH_MESSAGE


def test_truth_without_a_projection_shows_nothing(app_data):
    assert truth_view(None) is None
    assert isinstance(truth_view(scenario_view("", *NO_LEVERS).state), html.Div)


def test_data_that_cannot_support_projections_says_why(app_data, monkeypatch):
    reason = "cannot fit the stage-attendance model: 0 booked decision points have a closed window"
    monkeypatch.setattr(context, "_current", dataclasses.replace(app_data, scenarios=None,
                                                                  scenarios_unavailable=reason))
    view = scenario_view("", *NO_LEVERS)
    assert isinstance(view.message, dbc.Alert) and reason in view.message.children
    assert view.body_hidden


def _project(app_data, levers):
    return app_data.scenarios.project(levers, cohort_ids=app_data.cohort_frame["patient_id"], with_truth=False)


def test_cost_per_extra_patient_divides_the_outreach_cost_by_the_outreach_gain_only(app_data):
    """"Pathway optimisation" used to divide the outreach cost by every extra patient, most of
    them from the (uncosted) wait cuts: $7 where outreach alone cost $157 per extra patient."""
    combined = _project(app_data, PRESETS["pathway_optimisation"])
    rows = {row["lever"]: row for row in combined["attribution"]}
    waits, outreach = rows["wait-time cuts and first-visit attendance"], rows["targeted outreach"]
    assert waits["cost"] is None and waits["cost_note"] == "cost not modelled"
    assert waits["extra_completions"] + outreach["extra_completions"] == pytest.approx(combined["extra_completions"])
    assert outreach["extra_completions"] > 0 and waits["extra_completions"] > outreach["extra_completions"]
    assert combined["cost_per_extra_completion"] == pytest.approx(
        combined["programme_cost"] / outreach["extra_completions"])
    assert combined["cost_per_extra_completion"] > combined["programme_cost"] / combined["extra_completions"]
    # Outreach alone costs at least as much per extra patient as on top of the wait cuts... and the
    # same order of magnitude: the combination no longer looks many times cheaper.
    alone = _project(app_data, PRESETS["navigator_outreach"])
    assert combined["cost_per_extra_completion"] >= 0.5 * alone["cost_per_extra_completion"]
    low, high = combined["cost_per_extra_completion_ci"]
    assert low <= combined["cost_per_extra_completion"] <= high

    view = scenario_view("", *preset_controls("pathway_optimisation"))
    assert view.cost_per_extra[0] == f"${combined['cost_per_extra_completion']:,.0f}"
    assert "cost not modelled" in component_text(view.cost_per_extra)
    assert "cost not modelled" in component_text(view.methods)


def test_screening_drive_cards_agree_with_the_extra_patients(app_data):
    """The drive showed "Projected 48.5 %" and "+0.0 %" beside "+666 extra": the new patients
    adhere at today's rate, so the rate stays while the count grows; the cards now say so."""
    controls = [value if value is not no_update else 45 for value in preset_controls("screening_drive")]
    view = scenario_view("", *controls)
    result = _project(app_data, PRESETS["screening_drive"])
    assert result["extra_completions"] > 0 and result["extra_positive_screens"] > 0
    kept_today = result["baseline_completion_rate"] * result["patients"]
    assert view.relative[0] == f"{result['extra_completions'] / kept_today:+.1%}"
    assert view.relative[0] != "+0.0%"
    projected = component_text(view.projected)
    assert f"{round(kept_today + result['extra_completions']):,} of" in projected
    assert "new from screening" in projected
    assert "percentage points" in component_text(view.relative)
    assert "cost not modelled" in component_text(view.methods)


def test_every_scenario_rate_card_carries_its_numerator_and_denominator(app_data):
    view = scenario_view("", *NO_LEVERS)
    for card in (view.baseline, view.projected):
        assert f"of {app_data.scenarios.project(ScenarioLevers(), cohort_ids=app_data.cohort_frame['patient_id'], with_truth=False)['patients']:,} positive screens" in component_text(card)
