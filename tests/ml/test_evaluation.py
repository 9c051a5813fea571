"""Evaluation that can fail: each test names the realistic bug it guards against."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from ml.risk import evaluation as ev
from ml.risk.calibration import calibration_measures, cross_fitted_calibration
from ml.risk.decision_analysis import capacity_table, decision_curve, net_benefit, threshold_table
from ml.features import training_rows
from ml.risk.training import temporal_split


def test_cross_fitted_calibration_never_sees_the_labels_of_the_fold_it_calibrates():
    """Bug guarded: in-sample Platt scaling (fit on all rows, or on the fold itself). Fold 0's
    labels are all 1 while the scores carry no signal: only a calibrator that saw fold 0 can
    move fold 0's risks towards 1."""
    rng = np.random.default_rng(0)
    fold = np.repeat(np.arange(5), 400)
    raw = rng.uniform(0.2, 0.8, len(fold))
    outcome = rng.integers(0, 2, len(fold))
    outcome[fold == 0] = 1
    calibrated = cross_fitted_calibration(raw, outcome, fold)
    others = outcome[fold != 0].mean()
    assert abs(calibrated[fold == 0].mean() - others) < 0.03  # in-sample fitting gives ~0.6 (all rows) or ~1


@pytest.fixture(scope="module")
def small_rows(small_dataset):
    return training_rows(small_dataset.patients, small_dataset.events, small_dataset.as_of)


def test_temporal_split_trains_only_on_outcomes_known_before_the_cutoff(small_rows):
    """Bug guarded: a temporal split that mixes periods (training on decisions made before the
    cut-off whose outcomes were only known after it, or testing on earlier decisions)."""
    cutoff, train, test = temporal_split(small_rows, 0.2)
    assert train.sum() > 100 and test.sum() > 100
    assert small_rows.loc[train, "outcome_known_date"].max() < cutoff
    assert small_rows.loc[test, "decision_date"].min() >= cutoff
    # decisions made before the cut-off but resolved after it are in neither set
    pending = (small_rows["decision_date"] < cutoff) & (small_rows["outcome_known_date"] >= cutoff)
    assert pending.any() and not (train & pending.to_numpy()).any()


def test_bootstrap_resamples_whole_patients():
    """Bug guarded: a bootstrap over rows (shuffled, ignoring patients). With 20 identical landmark
    rows per patient, row resampling makes the interval ~4.5x too narrow; resampling patients
    gives the width of one row per patient."""
    rng = np.random.default_rng(1)
    patients = 300
    truth = rng.uniform(0.05, 0.95, patients)
    outcome = (rng.random(patients) < truth).astype(int)
    risk = np.clip(truth + rng.normal(0, 0.2, patients), 0, 1)
    one_low, one_high = ev.bootstrap_auc_ci(outcome, risk, np.arange(patients), 300, seed=2)
    many = np.repeat(np.arange(patients), 20)
    low, high = ev.bootstrap_auc_ci(outcome[many], risk[many], many, 300, seed=2)
    assert (high - low) > 0.7 * (one_high - one_low)


def test_bootstrap_interval_is_that_of_the_concatenated_resamples():
    """The interval is computed from each resample's draw counts, not by building it. Bugs guarded:
    ties in the risk counted as wins (or losses) instead of one half, a patient drawn twice counted
    once, a resample with one outcome only kept. The reference builds every resample (all rows of
    each drawn patient, as often as drawn) from the same random draws and ranks it."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(4)
    patients = 20
    groups = np.repeat(np.arange(patients), rng.integers(1, 6, patients))
    outcome = (groups < 3).astype(int)  # three patients drop out: some resamples draw none of them
    risk = np.round(rng.random(len(groups)) * 0.5 + 0.3 * outcome, 1)  # few distinct values: many ties
    rows_of = [np.flatnonzero(groups == g) for g in range(patients)]
    draws, aucs = np.random.default_rng(9), []
    for _ in range(500):
        idx = np.concatenate([rows_of[i] for i in draws.integers(0, patients, patients)])
        if outcome[idx].min() != outcome[idx].max():
            aucs.append(roc_auc_score(outcome[idx], risk[idx]))
    assert len(aucs) < 500  # some resamples held one outcome only
    expected = np.percentile(aucs, [2.5, 97.5])
    np.testing.assert_allclose(ev.bootstrap_auc_ci(outcome, risk, groups, 500, seed=9), expected, atol=1e-12)


def test_decision_day_headline_uses_only_decision_day_rows():
    """Bug guarded: reporting the pooled AUC as the decision-day figure. Later landmarks here are
    perfectly ranked, the decision day is not."""
    rng = np.random.default_rng(3)
    n = 2000
    waited = np.where(np.arange(n) < 1000, 0, 30)
    outcome = rng.integers(0, 2, n)
    risk = np.where(waited == 0, rng.random(n), outcome * 0.5 + 0.25)
    oracle = np.where(waited == 0, 0.5 + 0.1 * (outcome - 0.5) + rng.normal(0, 0.2, n), outcome)
    rows = pd.DataFrame({"waited_days": waited, "patient_id": np.arange(n).astype(str),
                         "awaiting_stage": "diagnosis"})
    result = ev.horizon_metrics(rows, outcome, risk, oracle, resamples=50)
    assert abs(result["decision_day"]["roc_auc"] - 0.5) < 0.05
    assert result["decision_day"]["rows"] == 1000
    low, high = result["decision_day"]["roc_auc_ci"]
    assert low < result["decision_day"]["roc_auc"] < high
    assert {r["waited_days"]: r["roc_auc"] for r in result["by_landmark"]}[30] == 1.0
    assert result["by_stage"][0]["rows"] == 1000


def _draws(n=40_000, seed=4):
    rng = np.random.default_rng(seed)
    truth = expit(rng.normal(0, 1.2, n))
    return truth, (rng.random(n) < truth).astype(int)


def test_calibration_measures_are_small_for_true_risks_and_find_known_miscalibration():
    truth, outcome = _draws()
    good = calibration_measures(outcome, truth)
    assert good["ici"] < 0.01 and abs(good["calibration_in_the_large"]) < 0.01
    assert 0.95 < good["calibration_slope"] < 1.05
    shifted = calibration_measures(outcome, np.clip(truth + 0.08, 0, 1))
    assert shifted["calibration_in_the_large"] == pytest.approx(-0.08, abs=0.015)
    assert shifted["ici"] > 0.05 and shifted["emax"] >= shifted["e90"] >= shifted["e50"]
    overconfident = calibration_measures(outcome, expit(2 * logit(truth)))
    assert overconfident["calibration_slope"] == pytest.approx(0.5, abs=0.05)


def test_oracle_calibration_error_measures_distance_to_the_truth():
    truth, _ = _draws(5000)
    rows = pd.DataFrame({"sex": np.where(np.arange(5000) % 2, "F", "M")})
    exact = ev.oracle_calibration_error(rows, truth, truth)
    assert exact["binned"] < 1e-12 and exact["mean_abs"] < 1e-12
    off = ev.oracle_calibration_error(rows, truth + np.where(rows["sex"] == "F", 0.06, 0.0), truth)
    by_group = {r["group"]: r for r in off["by_subgroup"]}
    assert by_group["F"]["binned"] == pytest.approx(0.06) and by_group["M"]["binned"] < 1e-12
    assert off["worst_subgroup"]["group"] == "F" and off["bias"] == pytest.approx(0.03)


def test_net_benefit_against_treat_all_and_treat_none():
    outcome = np.array([1, 1, 0, 0, 0])
    risk = np.array([0.9, 0.4, 0.6, 0.1, 0.2])
    # threshold 0.5: flagged rows 0 and 2: one true, one false positive of five
    assert net_benefit(outcome, risk, 0.5) == pytest.approx(1 / 5 - 1 / 5 * 1.0)
    curve = decision_curve(outcome, {"model": risk}, thresholds=(0.2, 0.5))
    assert curve["treat_all"] == pytest.approx([0.4 - 0.6 * 0.25, 0.4 - 0.6])
    assert curve["treat_none"] == [0.0, 0.0]
    perfect = decision_curve(outcome, {"model": outcome.astype(float)}, thresholds=(0.3,))
    assert perfect["model"] == [pytest.approx(0.4)]


def test_capacity_table_counts_the_top_n_of_each_week():
    dates = pd.Series(pd.to_datetime(["2026-01-05"] * 4 + ["2026-01-12"] * 4))
    outcome = np.array([1, 0, 1, 0, 0, 0, 1, 1])
    risk = np.array([0.9, 0.8, 0.1, 0.2, 0.95, 0.1, 0.3, 0.2])
    table = capacity_table(dates, outcome, {"model": risk}, capacities=(1, 2, 5))
    model = {r["calls_per_week"]: r for r in table if r["ranking"] == "model"}
    assert set(model) == {1, 2}  # 5 calls a week is everybody: nothing to rank
    assert model[1]["calls"] == 2 and model[1]["dropouts_reached"] == 1  # week 1's top is a dropout, week 2's not
    assert model[2]["dropouts_reached"] == 2 and model[2]["share_of_dropouts"] == pytest.approx(0.5)
    assert model[2]["calls_per_dropout_reached"] == pytest.approx(2.0)
    assert all(isinstance(r["calls"], int) and isinstance(r["dropouts_reached"], int) for r in table)


def test_threshold_table_counts_add_up():
    truth, outcome = _draws(3000)
    for row in threshold_table(outcome, truth):
        assert row["true_positives"] + row["false_positives"] + row["false_negatives"] + row["true_negatives"] == 3000
        assert row["flagged"] == row["true_positives"] + row["false_positives"]
    shares = [r["flagged_share"] for r in threshold_table(outcome, truth)]
    assert shares == sorted(shares, reverse=True)


def test_smoothed_calibration_curve_reads_only_the_nearest_rows_but_equals_the_full_fit():
    """smoothed_observed finds each grid point's nearest rows by bisection on the sorted risks.
    Bugs guarded: a reach one row off (the k-th nearest distance), ties at the edge of the run
    left out, the IPC weights applied to the wrong rows. The reference weighs every row."""
    from scipy.special import logit

    from ml.risk.calibration import smoothed_observed

    rng = np.random.default_rng(6)
    n = 3000
    risk = rng.beta(2, 5, n)
    risk[:600] = np.round(risk[:600], 2)  # runs of equal risks
    outcome = (rng.random(n) < risk).astype(int)
    weight = rng.exponential(1.0, n) * (rng.random(n) > 0.2)
    for sample_weight in (None, weight):
        grid, observed = smoothed_observed(outcome, risk, sample_weight=sample_weight)
        x = logit(np.clip(risk, 1e-6, 1 - 1e-6))
        w_row = np.ones(n) if sample_weight is None else sample_weight
        k = int(np.ceil(0.5 * n))
        expected = []
        for centre in logit(np.clip(grid, 1e-6, 1 - 1e-6)):
            distance = np.abs(x - centre)
            reach = np.sort(distance)[k - 1]
            w = np.clip(1 - (distance / (reach * 1.000001)) ** 3, 0, None) ** 3 * w_row
            mean_x, mean_y = np.average(x, weights=w), np.average(outcome, weights=w)
            slope = (w * (x - mean_x) * (outcome - mean_y)).sum() / (w * (x - mean_x) ** 2).sum()
            expected.append(mean_y + slope * (centre - mean_x))
        np.testing.assert_allclose(observed, np.clip(expected, 0, 1), atol=1e-9)
        assert len(grid) > 30 and np.all(np.diff(grid) > 0)
