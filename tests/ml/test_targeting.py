"""The benefit model and the evaluation of call rankings (policy value, AUUC, Qini)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.targeting import evaluation as tev
from ml.targeting.benefit import BenefitConfig, StageUpliftModel, pseudo_outcomes

# ----------------------------------------------------------------- evaluation by hand

GAIN = np.array([0.1, 0.0, 0.3, 0.2])


def test_policy_value_sums_the_true_gain_of_the_top_k():
    score = np.array([0.9, 0.8, 0.1, 0.5])  # order: 0, 1, 3, 2
    order = tev.order_by(score)
    assert list(order) == [0, 1, 3, 2]
    assert tev.policy_value(order, GAIN, 2) == pytest.approx(0.1)
    assert tev.policy_value(order, GAIN, 3) == pytest.approx(0.3)
    assert tev.policy_value(tev.order_by(GAIN), GAIN, 2) == pytest.approx(0.5)  # the oracle
    assert tev.random_policy_value(GAIN, 2) == pytest.approx(0.3)  # 2 × mean 0.15


def test_ties_keep_the_rows_order_and_ascending_ranks_soonest_first():
    assert list(tev.order_by(np.array([1.0, 1.0, 2.0]))) == [2, 0, 1]
    assert list(tev.order_by(np.array([30.0, 5.0, 5.0]), ascending=True)) == [1, 2, 0]


def test_gain_curve_and_auuc_by_hand():
    order = np.array([0, 1, 3, 2])
    assert np.allclose(tev.gain_curve(order, GAIN), [0, 0.1, 0.1, 0.3, 0.6])
    assert tev.auuc(order, GAIN) == pytest.approx((0.1 + 0.1 + 0.3 + 0.6) / 4)
    # oracle 0.3, 0.5, 0.6, 0.6 -> 0.5; random 0.6 * 5 / 8 = 0.375; this one 0.275
    assert tev.normalised_auuc(order, GAIN) == pytest.approx((0.275 - 0.375) / (0.5 - 0.375))
    assert tev.normalised_auuc(tev.order_by(GAIN), GAIN) == pytest.approx(1.0)


def test_qini_coefficient_by_hand():
    pseudo = np.array([1.0, -1.0, 0.0, 2.0])
    order = np.array([3, 0, 2, 1])  # curve 0, 2, 3, 3, 2; line 0, .5, 1, 1.5, 2
    assert tev.qini_coefficient(order, pseudo) == pytest.approx((1.5 + 2 + 1.5 + 0) / 4)
    assert tev.qini_coefficient(order[::-1], pseudo) < 0


def test_pseudo_outcome_averages_to_the_uplift_in_a_randomised_trial():
    rng = np.random.default_rng(1)
    n = 200_000
    t = (rng.random(n) < 0.3).astype(int)
    y = (rng.random(n) < 0.4 + 0.1 * t).astype(int)
    # Deliberately wrong outcome models: the known propensity alone makes it unbiased.
    phi = pseudo_outcomes(t, y, np.full(n, 0.6), np.full(n, 0.2), np.full(n, 0.3))
    assert phi.mean() == pytest.approx(0.1, abs=0.01)


def test_ranking_table_has_every_ranking_with_intervals():
    gain = np.array([0.1, 0.0, 0.3, 0.2, 0.05])
    table = tev.ranking_table({"a": (np.arange(5.0), False), "random": None}, gain, (2,), resamples=20)
    assert set(table) == {"a", "random", "oracle"}
    assert table["oracle"]["true_extra_completions"]["2"] == pytest.approx(0.5)
    assert table["a"]["true_extra_completions"]["2"] == pytest.approx(0.25)  # rows 4, 3
    assert table["a"]["share_of_oracle"]["2"] == pytest.approx(0.5)
    low, high = table["a"]["true_extra_completions_ci"]["2"]
    assert low <= high


# ----------------------------------------------------------------- the learner on a known uplift

def hand_made_log(n: int = 12_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Waiting patients whose call uplift is known and unrelated to their risk: a call helps
    those with time left and a barrier a navigator removes (here: a long distance), whatever
    their risk; staff call the high-risk ones more often, the rest at random."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "patient_id": [f"P{i // 2:06d}" for i in range(n)],  # two rows per patient
        "program": rng.choice(["colorectal", "diabetes"], n),
        "prior_no_shows_12m": rng.poisson(1.5, n).astype(float),
        "distance_km": rng.gamma(2.0, 10.0, n),
        "days_left_in_window": rng.integers(0, 120, n).astype(float),
    })
    risk_logit = -1.0 + 0.6 * frame["prior_no_shows_12m"] + 0.5 * (frame["program"] == "diabetes")
    uplift = 0.35 * (frame["days_left_in_window"] > 30) * (frame["distance_km"] > 15)
    p_done = np.clip(1 / (1 + np.exp(risk_logit)), 0.05, 0.95)
    propensity = np.where(risk_logit > 0.5, 0.5, 0.2)  # staff-chosen plus a random share
    called = (rng.random(n) < propensity).astype(int)
    done = (rng.random(n) < np.clip(p_done + called * uplift * (1 - p_done), 0, 1)).astype(int)
    frame = frame.assign(called=called, done=done, risk=1 - p_done, true_uplift=uplift * (1 - p_done))
    return frame, frame["true_uplift"].to_numpy()


FEATURES = ("program", "prior_no_shows_12m", "distance_km", "days_left_in_window")


@pytest.fixture(scope="module")
def fitted_hand_made():
    frame, true_uplift = hand_made_log()
    model = StageUpliftModel.fit(frame, frame["called"], frame["done"], frame["patient_id"], FEATURES,
                                 BenefitConfig(n_folds=3, effect_min_samples_leaf=200))
    return frame, true_uplift, model


def test_learner_recovers_a_known_heterogeneous_uplift(fitted_hand_made):
    frame, true_uplift, model = fitted_hand_made
    new, new_uplift = hand_made_log(4000, seed=5)
    predicted = model.predict(new)
    assert np.corrcoef(predicted, new_uplift)[0, 1] > 0.7
    assert predicted.mean() == pytest.approx(new_uplift.mean(), abs=0.03)
    # Out-of-fold predictions on the log itself rank the helped patients first too.
    assert np.corrcoef(model.out_of_fold, true_uplift)[0, 1] > 0.6


def test_benefit_ranking_beats_the_risk_ranking_on_the_hand_made_log(fitted_hand_made):
    _, _, model = fitted_hand_made
    new, new_uplift = hand_made_log(4000, seed=6)
    k = 400
    by_benefit = tev.policy_value(tev.order_by(model.predict(new)), new_uplift, k)
    by_risk = tev.policy_value(tev.order_by(new["risk"].to_numpy()), new_uplift, k)
    oracle = tev.policy_value(tev.order_by(new_uplift), new_uplift, k)
    assert by_benefit > 1.5 * by_risk
    assert by_benefit > 0.8 * oracle
