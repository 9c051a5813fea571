"""Stage-attendance model: exact decomposition, monotone wait curves, censoring, and the wait
effect (with its uncertainty) against the generator's own attendance probabilities."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from data.synthetic.ground_truth import attrs_from_patients, stage_attendance_probability
from data.pathway import DECISION_STAGES
from data.synthetic.params import GeneratorParams
from ml.scenarios.attendance import AttendanceModel, resolved_decision_rows, wait_term
from ml.scenarios.pathway_chain import shortened_lead


def test_logit_is_patient_part_plus_fitted_wait_term_exactly(default_rows, default_model):
    rows = default_rows[1].head(2000)
    fitted = default_model.coefficient_sets()
    table = default_model.wait_tables(fitted, non_increasing=False)[0]
    rebuilt = (default_model.patient_logits(default_model.design(rows), fitted)[0]
               + wait_term(table, default_model.level_index(rows), rows["lead_days"]))
    assert np.allclose(rebuilt, default_model.pipeline.decision_function(rows), atol=1e-9)


def test_wait_curves_never_reward_a_longer_wait(default_model):
    sets = default_model.coefficient_sets(draws=5)
    tables = default_model.wait_tables(sets)
    assert (np.diff(tables, axis=2) <= 1e-12).all()
    # ... and the isotonic projection stays close to what the regression fitted
    assert np.abs(tables[0] - default_model.wait_tables(sets[:1], non_increasing=False)[0]).mean() < 0.1


def _true_attendance(dataset, rows, lead):
    params = GeneratorParams(**dataset.manifest["params"])
    patients = dataset.patients.set_index("patient_id").loc[rows["patient_id"]].reset_index()
    return stage_attendance_probability(params, attrs_from_patients(patients), rows["awaiting_stage"].to_numpy(),
                                        lead, rows["missed_previous_appointment"].to_numpy(float),
                                        rows["previous_stage_days"].to_numpy(float))


def _gains(model, rows, cut, draws=0):
    """(sets, rows): gain in P(attend) from cutting every booked wait by `cut`."""
    sets = model.coefficient_sets(draws, seed=1)
    base, tables = model.patient_logits(model.design(rows), sets), model.wait_tables(sets)
    level, lead = model.level_index(rows), rows["lead_days"].to_numpy(float)
    shorter = shortened_lead(lead, cut, 3)
    return np.stack([expit(b + wait_term(t, level, shorter)) - expit(b + wait_term(t, level, lead))
                     for b, t in zip(base, tables)])


def test_wait_effect_matches_the_generator(default_rows, default_model):
    """A 30 % cut of every booked wait: the model's gain in attendance against the generator's
    exact attendance probabilities for the same decision points.  Per stage the estimate moves
    by about ±10 % between re-drawn outcomes at this size, so the bound per stage is 25 %."""
    dataset, rows = default_rows
    lead = rows["lead_days"].to_numpy(float)
    model_gain = _gains(default_model, rows, 0.3)[0]
    true_gain = _true_attendance(dataset, rows, shortened_lead(lead, 0.3, 3)) - _true_attendance(dataset, rows, lead)
    stage = rows["awaiting_stage"].to_numpy()
    assert abs(model_gain.sum() / true_gain.sum() - 1) < 0.15
    for name in DECISION_STAGES:
        assert abs(model_gain[stage == name].sum() / true_gain[stage == name].sum() - 1) < 0.25, name


def test_coefficient_draws_cover_the_true_wait_effect(default_rows, default_model):
    """The draws' 95 % range of the total gain from a 30 % cut holds the generator's value and
    is neither degenerate nor wider than ±30 %."""
    dataset, rows = default_rows
    lead = rows["lead_days"].to_numpy(float)
    totals = _gains(default_model, rows, 0.3, draws=40).sum(axis=1)
    truth = (_true_attendance(dataset, rows, shortened_lead(lead, 0.3, 3)) - _true_attendance(dataset, rows, lead)).sum()
    low, high = np.percentile(totals[1:], [2.5, 97.5])
    assert low <= truth <= high
    assert 0.02 < (high - low) / totals[0] < 0.6


def test_attendance_model_is_calibrated_by_stage(default_rows, default_model):
    dataset, rows = default_rows
    resolved = rows[resolved_decision_rows(rows, dataset.as_of)]
    predicted = default_model.probability(resolved)
    for name in DECISION_STAGES:
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


def test_fitting_without_both_outcomes_says_why(default_rows):
    rows = default_rows[1].head(500)
    with pytest.raises(ValueError, match="both attended and missed stages"):
        AttendanceModel.fit(rows, np.ones(len(rows), dtype=bool))
