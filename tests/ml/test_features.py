"""Leakage: features at a landmark use only what was known on that day."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.features import FEATURES, LEAKY_COLUMNS, model_inputs, scoring_rows, training_rows
from ml.risk.training import grouped_folds
from ml.risk.models import TrainingConfig


@pytest.fixture(scope="module")
def rows(small_dataset):
    return training_rows(small_dataset.patients, small_dataset.events, small_dataset.as_of)


def test_no_outcome_cost_or_ground_truth_column_is_a_feature():
    assert not set(FEATURES) & set(LEAKY_COLUMNS)
    assert "race_ethnicity" not in FEATURES  # audited for fairness, never an input


def test_features_from_the_log_truncated_at_the_landmark_equal_the_full_log(small_dataset, rows):
    """Recompute each sampled row as if the data ended on its landmark day: events after it are cut,
    and so are the patients who enrolled after it (a feature built from other patients' rows,
    such as a site's rate, would see them otherwise)."""
    patients, events = small_dataset.patients, small_dataset.events
    sample = rows.sample(40, random_state=3)
    for _, row in sample.iterrows():
        day = row["landmark_date"]
        truncated = events[events["date"] <= day]
        enrolled = patients[pd.to_datetime(patients["enrollment_date"]) <= day]
        assert len(enrolled) < len(patients)  # the patients table really is cut
        current = scoring_rows(enrolled, truncated, day)
        match = current[(current["patient_id"] == row["patient_id"]) & (current["decision_date"] == row["decision_date"])]
        assert len(match) == 1, row["patient_id"]
        expected = model_inputs(row.to_frame().T).reset_index(drop=True).astype(object)
        got = model_inputs(match).reset_index(drop=True).astype(object)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_labels_are_only_from_decision_points_whose_outcome_is_final(small_dataset, rows):
    horizon_passed = rows["decision_date"] + pd.to_timedelta(
        [__import__("data.pathway", fromlist=["x"]).outcome_horizon_days(p, s)
         for p, s in zip(rows["program"], rows["awaiting_stage"])], unit="D") < small_dataset.as_of
    assert horizon_passed.all()
    # a landmark row exists only while the patient is still waiting
    assert (rows["waited_days"] < (rows["window_closes"] - rows["decision_date"]).dt.days).all()


def test_grouped_folds_keep_each_patient_in_one_fold(rows):
    splits, fold = grouped_folds(rows["dropped_out"].to_numpy(), rows["patient_id"].to_numpy(), TrainingConfig())
    assert len(splits) == 5
    per_patient = pd.Series(fold).groupby(rows["patient_id"].to_numpy()).nunique()
    assert (per_patient == 1).all()
    for train, test in splits:
        assert not set(rows["patient_id"].iloc[train]) & set(rows["patient_id"].iloc[test])
    rates = [rows["dropped_out"].iloc[test].mean() for _, test in splits]
    assert max(rates) - min(rates) < 0.06  # stratified


def test_fast_auc_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    from ml.risk.evaluation import fast_auc

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p = np.round(rng.random(500), 2)  # with ties
    assert abs(fast_auc(y, p) - roc_auc_score(y, p)) < 1e-12


def test_rows_of_many_landmarks_built_at_once_equal_those_built_one_landmark_at_a_time(small_dataset):
    """training_rows and the targeting rows build every landmark in one frame (one merge with the
    patients table); each row must still carry its own point's booking date, hidden on the landmark
    days before the booking was made, and its own wait (a misaligned booking would leak a booked
    date known only later, or lose one)."""
    from data.journeys import derive_decision_points
    from ml.features import booking_made_on, landmark_rows, stacked_landmark_rows

    ds = small_dataset
    points = derive_decision_points(ds.patients, ds.events, ds.as_of, ds.pathway)
    rng = np.random.default_rng(5)
    # Bookings made 0-20 days after the decision (the small data books on the decision day).
    booked_on = booking_made_on(points, ds.events, ds.pathway) + pd.to_timedelta(rng.integers(0, 21, len(points)),
                                                                                 unit="D")
    blocks = [(np.sort(rng.choice(len(points), 60, replace=False)), waited) for waited in (0.0, 3.0, 14.0, 45.0)]
    one_at_a_time = pd.concat([landmark_rows(points.iloc[at], np.full(len(at), waited), ds.patients, booked_on.iloc[at])
                               for at, waited in blocks], ignore_index=True)
    at_once = stacked_landmark_rows(points, np.concatenate([at for at, _ in blocks]),
                                    np.concatenate([np.full(len(at), waited) for at, waited in blocks]),
                                    ds.patients, booked_on)
    pd.testing.assert_frame_equal(at_once, one_at_a_time)
    assert at_once["lead_days"].isna().any() and at_once["lead_days"].notna().any()
