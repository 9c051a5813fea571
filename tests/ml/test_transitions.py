"""Stage-attendance model and pathway chain: exact decomposition, censoring, and the wait
effect against the generator's own attendance probabilities."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from data.ground_truth import attrs_from_patients, stage_attendance_probability
from data.params import TRANSITIONS, GeneratorParams
from ml.features import decision_day_rows
from ml.transitions import (AttendanceModel, PathwayChain, made_up_share, resolved_decision_rows,
                            shortened_lead)
from ml.wait_splines import GroupedWaitSplines


@pytest.fixture(scope="module")
def default_rows(default_bundle):
    dataset = default_bundle[0]
    return dataset, decision_day_rows(dataset.patients, dataset.events, dataset.as_of)


@pytest.fixture(scope="module")
def default_model(default_rows):
    dataset, rows = default_rows
    resolved = rows[resolved_decision_rows(rows, dataset.as_of)]
    return AttendanceModel.fit(resolved, resolved["next_stage_date"].notna().to_numpy())


def test_logit_is_patient_part_plus_fitted_wait_term_exactly(default_rows, default_model):
    rows = default_rows[1].head(2000)
    level = default_model.level_index(rows)
    rebuilt = default_model.patient_logit(rows) + default_model.wait_logit(level, rows["lead_days"], fitted=True)
    assert np.allclose(rebuilt, default_model.pipeline.decision_function(rows), atol=1e-9)


def test_wait_curves_never_reward_a_longer_wait(default_model):
    assert (np.diff(default_model.wait, axis=1) <= 1e-12).all()
    # ... and the isotonic projection stays close to what the regression fitted
    assert np.abs(default_model.wait - default_model.fitted_wait).mean() < 0.1


def _true_attendance(dataset, rows, lead):
    params = GeneratorParams(**dataset.manifest["params"])
    patients = dataset.patients.set_index("patient_id").loc[rows["patient_id"]].reset_index()
    return stage_attendance_probability(params, attrs_from_patients(patients), rows["awaiting_stage"].to_numpy(),
                                        lead, rows["missed_previous_appointment"].to_numpy(float),
                                        rows["previous_stage_days"].to_numpy(float))


def test_wait_effect_matches_the_generator(default_rows, default_model):
    """A 30 % cut of every booked wait: the model's gain in attendance against the generator's
    exact attendance probabilities for the same decision points.  Per stage the estimate moves
    by about ±10 % between re-drawn outcomes at this size, so the bound per stage is 25 %."""
    dataset, rows = default_rows
    lead = rows["lead_days"].to_numpy(float)
    shorter = shortened_lead(lead, 0.3, 3)
    level, base = default_model.level_index(rows), default_model.patient_logit(rows)
    model_gain = expit(base + default_model.wait_logit(level, shorter)) - expit(base + default_model.wait_logit(level, lead))
    true_gain = _true_attendance(dataset, rows, shorter) - _true_attendance(dataset, rows, lead)
    stage = rows["awaiting_stage"].to_numpy()
    assert abs(model_gain.sum() / true_gain.sum() - 1) < 0.15
    for name in TRANSITIONS:
        assert abs(model_gain[stage == name].sum() / true_gain[stage == name].sum() - 1) < 0.25, name


def test_attendance_model_is_calibrated_by_stage(default_rows, default_model):
    dataset, rows = default_rows
    resolved = rows[resolved_decision_rows(rows, dataset.as_of)]
    predicted = default_model.probability(resolved)
    for name in TRANSITIONS:
        at = (resolved["awaiting_stage"] == name).to_numpy()
        assert abs(predicted[at].mean() - resolved.loc[at, "next_stage_date"].notna().mean()) < 0.01, name


def test_only_closed_windows_count_as_resolved():
    as_of = pd.Timestamp("2026-09-30")
    rows = pd.DataFrame({
        "next_stage_date": pd.to_datetime(["2026-09-01", None, "2026-05-01", None]),
        "window_closes": pd.to_datetime(["2026-12-01", "2026-12-01", "2026-06-01", "2026-06-01"]),
    })
    # attended while the window is still open: not yet comparable with those still waiting
    assert resolved_decision_rows(rows, as_of).tolist() == [False, False, True, True]


def test_made_up_share_counts_late_visits_among_missed_first_appointments():
    rows = pd.DataFrame({
        "awaiting_stage": ["diagnosis"] * 4 + ["treatment"] * 2,
        "program": ["diabetes"] * 6,
        "booked_date": pd.to_datetime(["2026-01-10"] * 6),
        "next_stage_date": pd.to_datetime(["2026-01-10", "2026-02-01", None, None, "2026-01-20", "2026-01-05"]),
    })
    share = made_up_share(rows, ["awaiting_stage", "program"])
    assert share[("diagnosis", "diabetes")] == pytest.approx(1 / 3)  # one late visit, two never
    assert share[("treatment", "diabetes")] == pytest.approx(1.0)   # the on-time visit is not a miss


def test_shortened_lead_keeps_a_floor_and_leaves_uncut_rows_alone():
    lead = np.array([4.0, 10.0, 60.0])
    assert shortened_lead(lead, 0.5, 3).tolist() == [3.0, 5.0, 30.0]
    assert shortened_lead(lead, np.array([0.0, 0.5, 0.0]), 3).tolist() == [4.0, 5.0, 60.0]


def test_unseen_group_gets_no_wait_columns_and_a_degenerate_group_is_named():
    frame = pd.DataFrame({"lead_days": [3.0, 10, 20, 40, 5, 50], "awaiting_stage": ["diagnosis"] * 3 + ["treatment"] * 3})
    splines = GroupedWaitSplines(groups=("awaiting_stage",), n_knots=3).fit(frame)
    unseen = splines.transform(pd.DataFrame({"lead_days": [12.0], "awaiting_stage": ["follow_up"]}))
    assert unseen.shape[1] == splines.n_features_out_ and not unseen.any()
    with pytest.raises(ValueError, match="lead_days: group 'follow_up' has fewer than two distinct values"):
        GroupedWaitSplines(groups=("awaiting_stage",)).fit(frame.assign(awaiting_stage="follow_up", lead_days=7.0))


def test_chain_levers_only_raise_attendance_and_continuation(default_rows, default_model):
    dataset, rows = default_rows
    latest = rows.groupby("patient_id", sort=False).tail(1)
    chain = PathwayChain(default_model, latest, rows, resolved_decision_rows(rows, dataset.as_of),
                         {"colorectal": 0.5, "diabetes": 0.6, "depression": 0.7}, 3.0)
    assert np.allclose(chain.attend_now({}, {}), default_model.probability(latest))
    base_after = chain.continuation({}, {})
    assert np.allclose(base_after[chain.stage == "follow_up"], 1.0)
    for levers in (({"treatment": 0.3}, {}), ({}, {"follow_up": 0.1}), ({s: 0.5 for s in TRANSITIONS}, {})):
        assert (chain.attend_now(*levers) >= chain.attend_now({}, {}) - 1e-12).all()
        assert (chain.continuation(*levers) >= base_after - 1e-12).all()
