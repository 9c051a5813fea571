"""Patient page callbacks called directly (no browser) on the small generated dataset."""
import dash_bootstrap_components as dbc
import pytest

from callbacks import context
from callbacks.patient import (NOT_FOUND, OTHER_FACTORS, PROMPT, driver_contributions, patient_view,
                               typical_wait, update_patient)
from data.journeys import STATUS_LABELS
from tests.app.component_text import component_text




@pytest.fixture(scope="module")
def top_patient(app_data):
    return app_data.risk_scores.iloc[0]


def test_scored_patient_shows_risk_and_drivers(app_data, top_patient):
    view = patient_view(top_patient["patient_id"], "")
    assert view.message is None and view.details_hidden is False
    risk_text = component_text(view.risk)
    assert f"{top_patient['risk']:.1%}" in risk_text
    assert f"{top_patient['risk_tier']} risk" in risk_text
    assert f"{top_patient['reference_risk']:.1%}" in risk_text
    assert [li.children for li in view.drivers.children[1].children] == [d["text"] for d in top_patient["drivers"]]
    header = component_text(view.header)
    assert top_patient["patient_id"] in header and STATUS_LABELS["in_progress"] in header
    assert f"Waiting {int(top_patient['waited_days'])} days for the {top_patient['stage_name']}" in header
    assert "Typical (median) time from" in header


def test_driver_chart_adds_up_from_typical_to_this_patient(app_data, top_patient):
    contributions = driver_contributions(top_patient["patient_id"])
    assert len(contributions) <= 9 and contributions["label"].is_unique
    assert contributions["label"].iloc[-1].startswith(OTHER_FACTORS)
    assert contributions["contribution"].sum() == pytest.approx(top_patient["risk"] - top_patient["reference_risk"],
                                                                abs=1e-9)
    named = contributions["contribution"].iloc[:-1].abs().tolist()
    assert named == sorted(named, reverse=True)
    (trace,) = patient_view(top_patient["patient_id"], "").drivers_figure.data
    assert list(trace.measure) == ["absolute", *["relative"] * len(contributions), "total"]
    assert trace.x[0] == pytest.approx(top_patient["reference_risk"])
    assert trace.x[-1] == pytest.approx(top_patient["risk"])
    assert sum(trace.x[1:-1]) == pytest.approx(trace.x[-1] - trace.x[0], abs=1e-9)


def test_every_scored_patient_has_contributions_that_add_up(app_data):
    scores = app_data.risk_scores.set_index("patient_id")
    for patient_id in scores.index[:20]:
        total = driver_contributions(patient_id)["contribution"].sum()
        assert total == pytest.approx(scores.loc[patient_id, "risk"] - scores.loc[patient_id, "reference_risk"],
                                      abs=1e-9)


def test_unknown_id_says_not_found():
    view = patient_view("  nobody ", "")
    assert isinstance(view.message, dbc.Alert)
    assert view.message.children == NOT_FOUND.format(patient_id="NOBODY")
    assert view.details_hidden is True


def test_empty_id_prompts():
    view = patient_view("", "?program=diabetes")
    assert view.message.children == PROMPT and view.details_hidden is True


def test_id_is_trimmed_and_case_insensitive(top_patient):
    view = patient_view(f" {top_patient['patient_id'].lower()} ", "")
    assert view.details_hidden is False


@pytest.mark.parametrize("status", ["completed", "exited", "dropped_out"])
def test_unscored_patients_say_why_there_is_no_score(app_data, status):
    frame = app_data.cohort_frame
    patient_id = frame.loc[frame["status"] == status, "patient_id"].iloc[0]
    view = patient_view(patient_id, "")
    assert "No risk score." in component_text(view.risk)
    assert view.drivers_graph_style == {"display": "none"}
    assert STATUS_LABELS[status] in component_text(view.header)


def test_patient_awaiting_screening_is_not_scored_and_says_so(app_data):
    frame = app_data.cohort_frame
    waiting = frame[(frame["status"] == "in_progress") & (frame["status_stage"] == "screening")]
    view = patient_view(waiting["patient_id"].iloc[0], "")
    assert "not booked" in component_text(view.risk)


def test_outside_the_cohort_is_shown_with_a_note(top_patient):
    other = next(p for p in ("colorectal", "diabetes", "depression") if p != top_patient["program"])
    view = patient_view(top_patient["patient_id"], f"?program={other}")
    assert view.details_hidden is False and "outside the current cohort" in component_text(view.message)


def test_typical_wait_is_the_cohort_median_of_the_step(app_data, top_patient):
    program, stage = top_patient["program"], top_patient["awaiting_stage"]
    column = {"diagnosis": "days_screening_to_diagnosis", "treatment": "days_diagnosis_to_treatment",
              "follow_up": "days_treatment_to_follow_up"}[stage]
    frame = context.cohort_frame("")
    days = frame.loc[frame["program"] == program, column].dropna()
    typical = typical_wait("", program, stage)
    assert typical.median_days == days.median() and typical.patients == len(days)
    # The risk-tier filter does not shrink the comparison group to patients still waiting.
    assert typical_wait("?risk=high", program, stage) == typical


def test_timeline_has_events_booking_window_and_as_of(app_data, top_patient):
    patient_id = top_patient["patient_id"]
    figure = patient_view(patient_id, "").timeline
    events = context.patient_events(patient_id)
    happened, booked = figure.data
    assert len(happened.x) == len(events) + 1  # plus enrollment
    assert booked.x[0] == f"{top_patient['booked_date']:%Y-%m-%d}"
    lines = [shape.x0 for shape in figure.layout.shapes]
    assert f"{top_patient['window_closes']:%Y-%m-%d}" in lines
    assert f"{app_data.dataset.as_of:%Y-%m-%d}" in lines


def test_attributes_card(top_patient):
    text = component_text(patient_view(top_patient["patient_id"], "").attributes)
    for label in ("Age", "Payer", "Area deprivation index", "Distance to clinic", "Patient-portal user",
                  "Estimated out-of-pocket cost"):
        assert label in text


def test_update_patient_returns_one_value_per_output(top_patient):
    assert len(update_patient(top_patient["patient_id"], None, "")) == 9


def test_dropout_header_names_the_missed_booking(app_data):
    frame = app_data.cohort_frame
    missed = frame[(frame["status"] == "dropped_out") & (frame["status_stage"] != "screening")]
    patient_id = missed["patient_id"].iloc[0]
    header = component_text(patient_view(patient_id, "").header)
    assert "Dropped out: the" in header and "no visit was recorded" in header
