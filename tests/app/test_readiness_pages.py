"""The app starts on any valid dataset and every page degrades with a sentence: start-up
(context.load) on broken-but-valid data, then each page's callbacks called directly."""
from dataclasses import replace

import pytest
from flask import Flask

from callbacks import context
from callbacks.model import model_view, subgroup_view, update_model
from callbacks.overview import NO_MODEL, update_overview
from callbacks.pathways import update_pathways
from callbacks.patient import update_patient
from callbacks.scenarios import CONTROL_IDS, truth_view, update_scenario
from callbacks.worklist import update_worklist, worklist_view
from components.model_tables import TOO_UNCERTAIN, WITHIN_CI, comparison_rows
from data.readiness import MAX_MEANINGFUL_AUC_CI_WIDTH, MIN_LABELLED_DECISION_POINTS
from tests.app.component_text import component_text as text_of
from tests.broken_datasets import (first_patients, nobody_in_progress, short_history, stray_future_event,
                                   without_bookings)
from tests.conftest import fast_training_config

LEAN = replace(fast_training_config(), gb_max_iter=40, bootstrap_resamples=20, explanation_permutations=2,
               importance_rows=500)
NO_LEVERS = [0] * len(CONTROL_IDS)


def start(dataset):
    """The start-up state for ``dataset``, loaded as create_app does, without replacing the
    session app's state."""
    previous = context._current
    server = Flask(__name__)
    context.init_cache(server)
    try:
        return context.load(server, dataset=dataset, log=lambda message: None, training_config=LEAN)
    finally:
        context._current = previous


@pytest.fixture(scope="module")
def short_state(small_dataset):
    return start(short_history(small_dataset))


@pytest.fixture(scope="module")
def twenty_state(small_dataset):
    return start(first_patients(small_dataset, 20))


@pytest.fixture(scope="module")
def stray_as_of_state(small_dataset):
    return start(stray_future_event(small_dataset))


@pytest.fixture(scope="module")
def nobody_waiting_state(small_dataset):
    return start(nobody_in_progress(first_patients(small_dataset, 1000)))


@pytest.fixture(scope="module")
def no_bookings_state(small_dataset):
    return start(without_bookings(first_patients(small_dataset, 1000)))


@pytest.fixture(scope="module")
def small_sample_state(small_dataset):
    return start(first_patients(small_dataset, 400))


def _every_page(state, monkeypatch) -> dict:
    """Every page's callbacks with ``state`` loaded, as the text a user reads."""
    monkeypatch.setattr(context, "_current", state)
    patient_ids = list(state.cohort_frame["patient_id"].iloc[:5])
    scenario = update_scenario("", *NO_LEVERS)
    return {
        "overview": text_of(update_overview("")),
        "pathways": text_of(update_pathways("")),
        "model": text_of(update_model("/model")) + text_of(subgroup_view(None)),
        "worklist": text_of(update_worklist("", 25)),
        "patient": " ".join(text_of(update_patient(pid, None, "")) for pid in patient_ids),
        "scenarios": text_of(scenario) + text_of(truth_view(scenario[-1])),
    }


@pytest.mark.parametrize("state_name", ["short_state", "twenty_state"])
def test_too_few_labelled_decision_points_start_without_a_model_and_each_model_page_says_the_threshold(
        state_name, request, monkeypatch):
    state = request.getfixturevalue(state_name)
    assert state.models is None and f"at least {MIN_LABELLED_DECISION_POINTS}" in state.models_unavailable
    pages = _every_page(state, monkeypatch)
    for page in ("model", "worklist", "scenarios"):
        assert f"at least {MIN_LABELLED_DECISION_POINTS}" in pages[page], page
    assert NO_MODEL in pages["overview"]
    assert "AUC" not in pages["model"]
    assert "concatenate" not in " ".join(pages.values())


def test_an_inferred_far_future_as_of_starts_without_a_model_and_the_pages_say_so(stray_as_of_state, monkeypatch):
    assert stray_as_of_state.models is None
    pages = _every_page(stray_as_of_state, monkeypatch)
    for page in ("overview", "model", "worklist", "scenarios"):
        assert "2099-01-01" in pages[page] and "CAREPATH_AS_OF" in pages[page], page


def test_nobody_in_progress_starts_and_the_worklist_says_nobody_is_waiting(nobody_waiting_state, monkeypatch):
    assert nobody_waiting_state.models is not None and nobody_waiting_state.risk_scores.empty
    pages = _every_page(nobody_waiting_state, monkeypatch)
    as_of = f"{nobody_waiting_state.dataset.as_of:%Y-%m-%d}"
    assert f"Nobody is in progress at the data's as-of date {as_of}" in pages["worklist"]
    assert worklist_view("", 25).rows == []


def test_without_bookings_the_model_page_names_the_features_left_out_and_scenarios_say_why_not(
        no_bookings_state, monkeypatch):
    assert no_bookings_state.models is not None
    pages = _every_page(no_bookings_state, monkeypatch)
    assert "Left out of both models" in pages["model"]
    assert "Booked wait for next stage: 0% of the labelled decision points have a booked appointment" in pages["model"]
    assert "next_appointment_date" in pages["model"]
    assert "Scenarios are not available for this data: the projections model attendance at booked appointments, " \
           "and 0% of the labelled decision points have a booked appointment" in pages["scenarios"]
    assert len(update_worklist("", 25)[-1]) > 0


def test_a_small_sample_labels_its_figures_too_uncertain(small_sample_state, monkeypatch):
    report = small_sample_state.models.report
    assert report["n_decision_points"] >= MIN_LABELLED_DECISION_POINTS
    monkeypatch.setattr(context, "_current", small_sample_state)
    view = model_view()
    message = text_of(view.message)
    assert "Too uncertain" in message and f"wider than {MAX_MEANINGFUL_AUC_CI_WIDTH}" in message
    assert all(TOO_UNCERTAIN in row["roc_auc"] for row in comparison_rows(report) if row["model"] != "oracle")
    model_traces = [trace.name for trace in view.roc.data if not trace.name.startswith("Chance")]
    assert len(model_traces) == 2 and all("too uncertain" in name for name in model_traces)
    pages = _every_page(small_sample_state, monkeypatch)
    assert "Traceback" not in " ".join(pages.values())


def test_enough_data_shows_the_figures_without_the_warning(app_data):
    view = model_view()
    widths = [m["roc_auc_ci"][1] - m["roc_auc_ci"][0] for m in app_data.models.report["models"].values()]
    assert max(widths) <= MAX_MEANINGFUL_AUC_CI_WIDTH
    assert view.message is None
    assert not any(TOO_UNCERTAIN in row["roc_auc"] for row in comparison_rows(app_data.models.report))


def test_an_oracle_gap_inside_the_interval_is_not_shown_as_meaningful(app_data):
    report = {**app_data.models.report, "models": {name: dict(m) for name, m in app_data.models.report["models"].items()}}
    oracle = report["oracle_roc_auc"]
    for metrics in report["models"].values():
        metrics["roc_auc_ci"] = [oracle - 0.05, oracle + 0.05]
    assert all(row["oracle_gap"].endswith(f"({WITHIN_CI})") for row in comparison_rows(report) if row["model"] != "oracle")
    for metrics in report["models"].values():
        metrics["roc_auc_ci"] = [oracle - 0.3, oracle - 0.2]
    assert not any(WITHIN_CI in row["oracle_gap"] for row in comparison_rows(report) if row["model"] != "oracle")


def test_every_page_layout_renders_without_a_model(dash_app, twenty_state, monkeypatch):
    import dash

    monkeypatch.setattr(context, "_current", twenty_state)
    for page in dash.page_registry.values():
        assert page["layout"]() is not None, page["path"]
