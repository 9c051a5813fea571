"""Journey derivation on hand-built logs whose answers are known, plus random logs
checked against a slow per-patient reference."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.journeys import (
    DECISION_OUTCOME_COLUMNS,
    DECISION_POINT_COLUMNS,
    JOURNEY_COLUMNS,
    STATUS_COMPLETED,
    STATUS_DROPPED_OUT,
    STATUS_EXITED,
    STATUS_IN_PROGRESS,
    STATUS_LABELS,
    STATUSES,
    derive_decision_points,
    derive_journeys,
)
from data.pathway import ALLOWED_WINDOW_DAYS, PREVIOUS_STAGE, outcome_horizon_days
from data.pathway import DEFAULT_PATHWAY
from data.schema import PROGRAMS, STAGES

NEXT_STAGE = DEFAULT_PATHWAY.next_stage

AS_OF = pd.Timestamp("2024-12-31")
D = pd.Timestamp


def _log(patients: list[tuple], events: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    patients_df = pd.DataFrame(patients, columns=["patient_id", "program", "enrollment_date"])
    patients_df["enrollment_date"] = pd.to_datetime(patients_df["enrollment_date"])
    events_df = pd.DataFrame(events, columns=["patient_id", "stage", "date", "result", "next_appointment_date"])
    events_df["date"] = pd.to_datetime(events_df["date"])
    events_df["next_appointment_date"] = pd.to_datetime(events_df["next_appointment_date"])
    events_df["site"] = "site_" + events_df["stage"]
    events_df["billed_cost"] = 100.0
    return patients_df, events_df


PATIENTS = [
    ("P01", "colorectal", "2023-01-01"),  # completed, treatment later than booked
    ("P02", "colorectal", "2024-01-01"),  # negative screen
    ("P03", "colorectal", "2024-01-01"),  # ruled out
    ("P04", "colorectal", "2023-06-01"),  # dropped at diagnosis
    ("P05", "colorectal", "2024-09-01"),  # awaiting diagnosis, window open
    ("P06", "colorectal", "2024-01-01"),  # never screened, window closed
    ("P07", "colorectal", "2024-10-01"),  # never screened, window open
    ("P08", "diabetes", "2023-01-01"),    # dropped at treatment, diagnosis later than booked
    ("P09", "colorectal", "2023-01-01"),  # dropped at follow-up
    ("P10", "colorectal", "2024-05-01"),  # awaiting follow-up, two missed bookings
]
EVENTS = [
    ("P01", "screening", "2023-01-11", "positive", "2023-02-01"),
    ("P01", "diagnosis", "2023-02-01", "confirmed", "2023-03-01"),
    ("P01", "treatment", "2023-03-05", None, "2023-06-01"),
    ("P01", "follow_up", "2023-06-01", None, None),
    ("P02", "screening", "2024-01-15", "negative", None),
    ("P03", "screening", "2024-01-10", "positive", "2024-02-01"),
    ("P03", "diagnosis", "2024-02-10", "ruled_out", None),
    ("P04", "screening", "2023-06-10", "positive", "2023-07-01"),
    ("P05", "screening", "2024-09-20", "positive", "2024-10-20"),
    ("P08", "screening", "2023-01-05", "positive", "2023-02-01"),
    ("P08", "diagnosis", "2023-02-10", "confirmed", "2023-03-01"),
    ("P09", "screening", "2023-01-05", "positive", "2023-02-01"),
    ("P09", "diagnosis", "2023-02-01", "confirmed", "2023-03-01"),
    ("P09", "treatment", "2023-03-01", None, "2023-06-01"),
    ("P10", "screening", "2024-05-10", "positive", "2024-06-01"),
    ("P10", "diagnosis", "2024-06-15", "confirmed", "2024-07-15"),
    ("P10", "treatment", "2024-08-01", None, "2024-12-01"),
]


@pytest.fixture(scope="module")
def log():
    return _log(PATIENTS, EVENTS)


@pytest.fixture(scope="module")
def journeys(log):
    return derive_journeys(*log, AS_OF).set_index("patient_id", drop=False)


@pytest.fixture(scope="module")
def points(log):
    return derive_decision_points(*log, AS_OF)


def test_journey_columns_order_and_labels(log, journeys):
    assert tuple(journeys.columns) == JOURNEY_COLUMNS
    assert list(journeys["patient_id"]) == [p[0] for p in PATIENTS]
    assert set(STATUS_LABELS) == set(STATUSES)
    assert STATUS_LABELS[STATUS_EXITED] == "Appropriately exited"


@pytest.mark.parametrize("patient_id, status, stage, furthest", [
    ("P01", STATUS_COMPLETED, "follow_up", "follow_up"),
    ("P02", STATUS_EXITED, "screening", "screening"),
    ("P03", STATUS_EXITED, "diagnosis", "diagnosis"),
    ("P04", STATUS_DROPPED_OUT, "diagnosis", "screening"),
    ("P05", STATUS_IN_PROGRESS, "diagnosis", "screening"),
    ("P06", STATUS_DROPPED_OUT, "screening", "enrolled"),
    ("P07", STATUS_IN_PROGRESS, "screening", "enrolled"),
    ("P08", STATUS_DROPPED_OUT, "treatment", "diagnosis"),
    ("P09", STATUS_DROPPED_OUT, "follow_up", "treatment"),
    ("P10", STATUS_IN_PROGRESS, "follow_up", "treatment"),
])
def test_status(journeys, patient_id, status, stage, furthest):
    row = journeys.loc[patient_id]
    assert (row["status"], row["status_stage"], row["furthest_stage"]) == (status, stage, furthest)


def test_censored_patient_is_never_a_dropout(journeys):
    # P05's diagnosis window (180 days from the positive screen) is still open.
    row = journeys.loc["P05"]
    assert row["window_closes"] == D("2024-09-20") + pd.Timedelta(days=180)
    assert row["window_closes"] >= AS_OF
    assert row["status"] == STATUS_IN_PROGRESS


def test_waiting_fields(journeys):
    p05, p07, p10 = journeys.loc["P05"], journeys.loc["P07"], journeys.loc["P10"]
    assert p05["awaiting_since"] == D("2024-09-20")
    assert p05["days_waiting"] == 102
    assert p05["next_appointment_date"] == D("2024-10-20")
    assert p07["awaiting_since"] == D("2024-10-01")
    assert p07["days_waiting"] == 91
    assert pd.isna(p07["next_appointment_date"])  # screening is not booked
    assert p07["window_closes"] == D("2024-10-01") + pd.Timedelta(days=180)
    assert p10["awaiting_since"] == D("2024-08-01")
    assert p10["days_waiting"] == 152
    assert p10["next_appointment_date"] == D("2024-12-01")
    assert p10["window_closes"] == D("2025-01-28")
    not_waiting = journeys["status"] != STATUS_IN_PROGRESS
    assert journeys.loc[not_waiting, ["awaiting_since", "next_appointment_date", "window_closes"]].isna().all().all()
    assert journeys.loc[not_waiting, "days_waiting"].isna().all()


def test_day_differences(journeys):
    p01 = journeys.loc["P01"]
    assert p01["days_enrollment_to_screening"] == 10
    assert p01["days_screening_to_diagnosis"] == 21
    assert p01["days_diagnosis_to_treatment"] == 32
    assert p01["days_treatment_to_follow_up"] == 88
    assert p01["days_to_milestone"] == 53
    assert journeys.loc["P02", "days_enrollment_to_screening"] == 14
    assert np.isnan(journeys.loc["P02", "days_screening_to_diagnosis"])
    assert np.isnan(journeys.loc["P04", "days_to_milestone"])
    assert np.isnan(journeys.loc["P06", "days_enrollment_to_screening"])
    assert journeys.loc["P03", "screening_result"] == "positive"
    assert journeys.loc["P03", "diagnosis_result"] == "ruled_out"
    assert pd.isna(journeys.loc["P06", "screening_date"])


def test_window_boundary_is_exclusive():
    # The window closes exactly at as_of: still in progress; a day earlier: dropped out.
    window = ALLOWED_WINDOW_DAYS["depression"]["screening"]
    patients, events = _log(
        [("OPEN", "depression", AS_OF - pd.Timedelta(days=window)),
         ("SHUT", "depression", AS_OF - pd.Timedelta(days=window + 1))],
        [],
    )
    statuses = derive_journeys(patients, events, AS_OF).set_index("patient_id")["status"]
    assert statuses.to_dict() == {"OPEN": STATUS_IN_PROGRESS, "SHUT": STATUS_DROPPED_OUT}


def test_decision_point_counts_and_columns(points):
    assert tuple(points.columns) == DECISION_POINT_COLUMNS
    assert set(DECISION_OUTCOME_COLUMNS) <= set(points.columns)
    # Positive screens: P01, P03, P04, P05, P08, P09, P10; confirmed: P01, P08, P09, P10;
    # treatments: P01, P09, P10.
    assert points["awaiting_stage"].value_counts().to_dict() == {"diagnosis": 7, "treatment": 4, "follow_up": 3}
    assert list(points["patient_id"]) == sorted(points["patient_id"])
    for _, rows in points.groupby("patient_id"):
        assert rows["decision_date"].is_monotonic_increasing


def test_decision_point_features(points):
    p = points.set_index(["patient_id", "awaiting_stage"])
    p01 = p.loc["P01"]
    assert p01.loc["diagnosis", "decision_date"] == D("2023-01-11")
    assert p01.loc["diagnosis", "decision_site"] == "site_screening"
    assert p01.loc["diagnosis", "lead_days"] == 21
    assert p01.loc["diagnosis", "previous_stage_days"] == 10
    assert p01.loc["treatment", "lead_days"] == 28
    assert p01.loc["treatment", "previous_stage_days"] == 21
    assert p01.loc["follow_up", "previous_stage_days"] == 32
    assert p01.loc["follow_up", "days_since_enrollment"] == 63
    assert p01.loc["treatment", "next_stage_date"] == D("2023-03-05")
    assert list(p01["missed_previous_appointment"]) == [False, False, True]
    assert list(p01["prior_decisions_missed"]) == [0, 0, 1]
    assert list(p.loc["P10", "prior_decisions_missed"]) == [0, 1, 2]
    assert list(p.loc["P10", "missed_previous_appointment"]) == [False, True, True]
    assert p.loc[("P08", "treatment"), "missed_previous_appointment"]
    assert p.loc[("P08", "treatment"), "window_closes"] == D("2023-02-10") + pd.Timedelta(days=60)
    assert pd.isna(p.loc[("P04", "diagnosis"), "next_stage_date"])


def test_decision_point_outcomes(points):
    p = points.set_index(["patient_id", "awaiting_stage"])
    assert p.loc[("P01", "diagnosis"), "pathway_outcome"] == STATUS_COMPLETED
    assert p.loc[("P01", "diagnosis"), "dropped_out"] == 0
    assert p.loc[("P04", "diagnosis"), "dropped_out"] == 1
    assert list(p.loc["P08", "dropped_out"]) == [1, 1]
    assert p.loc[("P09", "follow_up"), "dropped_out"] == 1
    # Known outcome (exited) but the horizon has not passed: no label yet.
    assert p.loc[("P03", "diagnosis"), "pathway_outcome"] == STATUS_EXITED
    assert not p.loc[("P03", "diagnosis"), "label_known"]
    assert pd.isna(p.loc[("P03", "diagnosis"), "dropped_out"])
    for key in [("P05", "diagnosis"), ("P10", "follow_up")]:
        assert p.loc[key, "pathway_outcome"] == STATUS_IN_PROGRESS
        assert pd.isna(p.loc[key, "dropped_out"])
    assert str(points["dropped_out"].dtype) == "Int8"
    assert not (points["label_known"] & (points["pathway_outcome"] == STATUS_IN_PROGRESS)).any()
    assert (points["dropped_out"].notna() == points["label_known"]).all()


def test_label_known_boundary():
    horizon = outcome_horizon_days("colorectal", "diagnosis")
    decision_dates = {
        "BEFORE": AS_OF - pd.Timedelta(days=horizon + 1),  # horizon elapsed a day ago
        "AT": AS_OF - pd.Timedelta(days=horizon),           # elapses on as_of: not yet
        "AFTER": AS_OF - pd.Timedelta(days=horizon - 1),
    }
    patients, events = _log(
        [(pid, "colorectal", date - pd.Timedelta(days=5)) for pid, date in decision_dates.items()],
        [(pid, "screening", date, "positive", date + pd.Timedelta(days=14)) for pid, date in decision_dates.items()],
    )
    points = derive_decision_points(patients, events, AS_OF).set_index("patient_id")
    assert points["label_known"].to_dict() == {"AFTER": False, "AT": False, "BEFORE": True}
    # All three missed diagnosis long ago, but only the one past the horizon is labelled.
    assert (points["pathway_outcome"] == STATUS_DROPPED_OUT).all()
    assert points.loc["BEFORE", "dropped_out"] == 1
    assert points[["dropped_out"]].loc[["AT", "AFTER"]].isna().all().all()


def test_duplicate_and_unknown_events_are_tolerated():
    patients, events = _log(
        [("A", "colorectal", "2024-01-01")],
        [("A", "screening", "2024-02-01", "positive", "2024-03-01"),
         ("A", "screening", "2024-01-20", "negative", None),  # earliest wins
         ("ZZ", "screening", "2024-01-20", "negative", None)],
    )
    journeys = derive_journeys(patients, events, AS_OF)
    assert list(journeys["status"]) == [STATUS_EXITED]
    assert journeys.loc[0, "screening_date"] == D("2024-01-20")
    assert derive_decision_points(patients, events, AS_OF).empty


# ---------------------------------------------------------------- random logs

RESULT_IF = {"screening": ("positive", "negative"), "diagnosis": ("confirmed", "ruled_out")}


def _random_log(seed: int, n: int = 300) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Simulate pathways whose stages, when they happen, happen within their window."""
    rng = np.random.default_rng(seed)
    as_of = D("2024-06-30")
    patients, events = [], []
    for i in range(n):
        pid = f"R{i:04d}"
        program = PROGRAMS[rng.integers(len(PROGRAMS))]
        enrolled = D("2022-06-01") + pd.Timedelta(days=int(rng.integers(0, 760)))
        patients.append((pid, program, enrolled))
        stage, decided = "screening", enrolled
        while stage is not None and rng.random() < 0.8:
            date = decided + pd.Timedelta(days=int(rng.integers(0, ALLOWED_WINDOW_DAYS[program][stage] + 1)))
            if date > as_of:
                break
            result = RESULT_IF[stage][int(rng.random() < 0.4)] if stage in RESULT_IF else None
            leads_on = stage in NEXT_STAGE and result in (None, "positive", "confirmed")
            booked = date + pd.Timedelta(days=int(rng.integers(1, 60))) if leads_on else None
            events.append((pid, stage, date, result, booked))
            stage, decided = (NEXT_STAGE[stage], date) if leads_on else (None, None)
    patients_df, events_df = _log(patients, events)
    return patients_df, events_df.sample(frac=1, random_state=seed), as_of


def _reference_status(program, enrolled, by_stage, as_of):
    """Per-patient walk of the pathway: the slow, obvious version."""
    decided = enrolled
    for stage in STAGES:
        if stage not in by_stage:
            closes = decided + pd.Timedelta(days=ALLOWED_WINDOW_DAYS[program][stage])
            return (STATUS_DROPPED_OUT if closes < as_of else STATUS_IN_PROGRESS), stage
        event = by_stage[stage]
        if stage != "follow_up" and event["result"] in ("negative", "ruled_out"):
            return STATUS_EXITED, stage
        decided = event["date"]
    return STATUS_COMPLETED, "follow_up"


@pytest.mark.parametrize("seed", range(5))
def test_random_logs_match_reference(seed):
    patients, events, as_of = _random_log(seed)
    journeys = derive_journeys(patients, events, as_of)
    points = derive_decision_points(patients, events, as_of)

    by_patient = {pid: {row.stage: row._asdict() for row in rows.itertuples()} for pid, rows in events.groupby("patient_id")}
    expected = [_reference_status(p.program, p.enrollment_date, by_patient.get(p.patient_id, {}), as_of)
                for p in patients.itertuples()]
    assert list(zip(journeys["status"], journeys["status_stage"])) == expected

    assert journeys["status"].isin(STATUSES).all()
    in_progress = journeys["status"] == STATUS_IN_PROGRESS
    assert (journeys["awaiting_since"].notna() == in_progress).all()
    assert (journeys.loc[in_progress, "window_closes"] >= as_of).all()
    assert (journeys["days_waiting"].dropna() >= 0).all()

    indicated_events = events[(events["stage"] != "follow_up") & ~events["result"].isin(["negative", "ruled_out"])]
    assert len(points) == len(indicated_events)
    horizon = [outcome_horizon_days(p, s) for p, s in zip(points["program"], points["awaiting_stage"])]
    elapsed = points["decision_date"] + pd.to_timedelta(horizon, unit="D") < as_of
    assert (points["label_known"] == elapsed).all()
    assert (points["dropped_out"].notna() == points["label_known"]).all()
    assert not (points["label_known"] & (points["pathway_outcome"] == STATUS_IN_PROGRESS)).any()
    status_by_patient = journeys.set_index("patient_id")["status"]
    assert (points["pathway_outcome"].to_numpy() == status_by_patient.loc[points["patient_id"]].to_numpy()).all()
    labelled = points[points["label_known"]]
    assert ((labelled["dropped_out"] == 1) == (labelled["pathway_outcome"] == STATUS_DROPPED_OUT)).all()
    assert set(points["awaiting_stage"]) <= set(PREVIOUS_STAGE)
