"""The readiness report: valid data that cannot train or serve a model, each finding in words
with its status, and the Readiness section of ``python -m data.validate``."""
import datetime as dt

import pandas as pd
import pytest

from data.io import write_dataset
from data.readiness import (BLOCKING, MIN_LABELLED_DECISION_POINTS, MIN_PER_CLASS, OK, PLAUSIBILITY_FACTOR,
                            WARNING, assess, labelled_points_problem)
from data.validate import main as validate_main
from tests.broken_datasets import (first_patients, modified, nobody_in_progress, short_history, stray_future_event,
                                   without_bookings)

TODAY = dt.date(2026, 11, 30)


def _status(report, rule):
    return report.finding(rule).status


def test_the_small_synthetic_dataset_is_ready_with_a_small_sample_warning(small_dataset):
    report = assess(small_dataset, today=TODAY)
    assert not report.model_blocked
    assert {f.rule: f.status for f in report.findings} == {
        "as_of": OK, "time_span": OK, "labelled_decision_points": WARNING, "in_progress": OK,
        "booking_coverage": OK, "plausible_values": OK}
    assert "awaiting diagnosis" in report.finding("labelled_decision_points").message


@pytest.mark.parametrize("total, dropped, blocked", [
    (MIN_LABELLED_DECISION_POINTS, MIN_PER_CLASS, False),
    (MIN_LABELLED_DECISION_POINTS - 1, 50, True),
    (MIN_LABELLED_DECISION_POINTS, MIN_PER_CLASS - 1, True),
    (MIN_LABELLED_DECISION_POINTS, MIN_LABELLED_DECISION_POINTS - MIN_PER_CLASS + 1, True),
])
def test_the_model_needs_the_stated_number_of_labelled_decision_points_of_each_outcome(total, dropped, blocked):
    labelled = pd.DataFrame({"awaiting_stage": "diagnosis", "dropped_out": [1] * dropped + [0] * (total - dropped)})
    problem = labelled_points_problem(labelled)
    assert (problem is not None) == blocked
    if blocked:
        assert f"at least {MIN_LABELLED_DECISION_POINTS}" in problem and f"at least {MIN_PER_CLASS} of each" in problem


def test_twenty_patients_block_the_model(small_dataset):
    report = assess(first_patients(small_dataset, 20), today=TODAY)
    assert _status(report, "labelled_decision_points") == BLOCKING


def test_a_history_shorter_than_the_horizon_blocks_the_model_and_says_why(small_dataset):
    shorter_than_every_horizon = assess(short_history(small_dataset, days=80), today=TODAY)
    assert _status(shorter_than_every_horizon, "time_span") == BLOCKING
    assert "no outcome is final yet" in shorter_than_every_horizon.finding("time_span").message
    shorter_than_most = assess(short_history(small_dataset, days=300), today=TODAY)
    assert _status(shorter_than_most, "time_span") == WARNING
    assert _status(shorter_than_most, "labelled_decision_points") == BLOCKING


def test_nobody_in_progress_is_a_warning(small_dataset):
    report = assess(nobody_in_progress(small_dataset), today=TODAY)
    assert _status(report, "in_progress") == WARNING
    assert "Worklist will be empty" in report.finding("in_progress").message
    assert not report.model_blocked


def test_no_bookings_is_a_warning_that_names_the_features_left_out(small_dataset):
    finding = assess(without_bookings(small_dataset), today=TODAY).finding("booking_coverage")
    assert finding.status == WARNING and "lead time" in finding.message and "next_appointment_date" in finding.message


def test_an_as_of_inferred_after_today_blocks_the_model_and_says_how_to_set_it(small_dataset):
    finding = assess(stray_future_event(small_dataset), today=TODAY).finding("as_of_after_today")
    assert finding.status == BLOCKING
    assert "2099-01-01" in finding.message and "dataset.toml" in finding.message and "CAREPATH_AS_OF" in finding.message


def test_an_as_of_inferred_far_beyond_the_rest_of_the_data_blocks_the_model(small_dataset):
    report = assess(stray_future_event(small_dataset, year=2099), today=dt.date(2100, 1, 1))
    assert _status(report, "as_of_beyond_data") == BLOCKING
    assert "CAREPATH_AS_OF" in report.finding("as_of_beyond_data").message


def test_an_explicit_as_of_after_today_is_only_a_warning(small_dataset):
    report = assess(modified(small_dataset), today=dt.date(2026, 1, 1))
    assert _status(report, "as_of_after_today") == WARNING and not report.model_blocked


def test_implausible_but_valid_numbers_are_flagged_without_naming_patients(small_dataset):
    patients = small_dataset.patients.copy()
    patients["distance_km"] = patients["distance_km"].astype(float)
    patients.loc[[3, 4, 5], "distance_km"] = 19_000.0  # within the contract's 20,000 km, ~100× typical
    finding = assess(modified(small_dataset, patients=patients), today=TODAY).finding("implausible_distance_km")
    assert finding.status == WARNING
    assert "3 patients" in finding.message and f"{PLAUSIBILITY_FACTOR} ×" in finding.message
    assert not any(str(pid) in finding.message for pid in patients["patient_id"].iloc[[3, 4, 5]])


def test_validate_prints_a_readiness_section_and_still_exits_0(small_dataset, tmp_path, capsys):
    dataset = stray_future_event(small_dataset)
    folder = tmp_path / "stray"
    write_dataset({"patients": dataset.patients, "events": dataset.events}, {}, folder)  # no as-of: inferred
    assert validate_main([str(folder)]) == 0
    out = capsys.readouterr().out
    summary, readiness = out.split("\nReadiness", 1)
    assert "valid" in summary and "(inferred from the latest event)" in summary
    assert "no model can be trained" in readiness
    assert "[blocking] The as-of date 2099-01-01" in readiness and "CAREPATH_AS_OF" in readiness


def test_an_absent_next_appointment_date_column_reads_as_no_bookings(small_dataset, tmp_path):
    from data.io import read_dataset

    events = small_dataset.events.drop(columns=["next_appointment_date", "next_appointment_booked_on"])
    write_dataset({"patients": small_dataset.patients, "events": events}, {"as_of": "2026-09-30"}, tmp_path / "d")
    report = assess(read_dataset(tmp_path / "d"), today=TODAY)
    assert _status(report, "booking_coverage") == WARNING and not report.model_blocked
