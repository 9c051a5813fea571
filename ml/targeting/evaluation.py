"""How good a ranking of whom to call is: policy value, gain curves, AUUC and Qini.

On synthetic data every waiting patient's true gain from a call is known
(ground truth ``true_call_gain``), and patients are independent, so calling the top k
of a ranking yields exactly the sum of their true gains: the *policy value*.  On
logged data alone, the Qini curve is the uplift analogue of a lift curve, from the
doubly robust pseudo-outcomes of held-out rows.

Ties are broken by the order the rows come in (stable sort), so a ranking is
reproducible; callers put the rows in a meaningful order first (e.g. by risk).
"""
from __future__ import annotations

import numpy as np

RESAMPLES = 200


def order_by(score: np.ndarray, ascending: bool = False) -> np.ndarray:
    """Row positions, best first; ties keep the rows' order."""
    score = np.asarray(score, float)
    return np.argsort(score if ascending else -score, kind="stable")


def policy_value(order: np.ndarray, true_gain: np.ndarray, k: int) -> float:
    """True extra completions from calling the first k rows of ``order``."""
    return float(np.asarray(true_gain, float)[order[:k]].sum())


def gain_curve(order: np.ndarray, true_gain: np.ndarray) -> np.ndarray:
    """Cumulative true gain after calling 0, 1, ..., n rows in ``order``."""
    return np.concatenate([[0.0], np.cumsum(np.asarray(true_gain, float)[order])])


def auuc(order: np.ndarray, true_gain: np.ndarray) -> float:
    """Area under the gain curve, per patient: the mean over k = 1..n of the cumulative gain."""
    return float(gain_curve(order, true_gain)[1:].mean())


def normalised_auuc(order: np.ndarray, true_gain: np.ndarray) -> float:
    """(AUUC - random) / (oracle - random): 1 for the oracle, 0 for a random order."""
    gain = np.asarray(true_gain, float)
    random_area = gain.sum() * (len(gain) + 1) / (2 * len(gain))
    oracle_area = auuc(order_by(gain), gain)
    return float((auuc(order, gain) - random_area) / (oracle_area - random_area)) if oracle_area > random_area else 0.0


def qini_curve(order: np.ndarray, pseudo_outcome: np.ndarray) -> np.ndarray:
    """Estimated cumulative uplift of calling the first k rows, from doubly robust
    pseudo-outcomes (whose mean over any set of rows estimates its uplift)."""
    return np.concatenate([[0.0], np.cumsum(np.asarray(pseudo_outcome, float)[order])])


def qini_coefficient(order: np.ndarray, pseudo_outcome: np.ndarray) -> float:
    """Area between the Qini curve and the straight line of a random order, per row."""
    curve = qini_curve(order, pseudo_outcome)
    n = len(curve) - 1
    line = curve[-1] * np.arange(n + 1) / n
    return float((curve - line)[1:].mean())


def random_policy_value(true_gain: np.ndarray, k: int) -> float:
    """Expected true extra completions of calling k rows at random."""
    gain = np.asarray(true_gain, float)
    return float(min(k, len(gain)) * gain.mean()) if len(gain) else 0.0


def policy_value_interval(score, true_gain, k: int, ascending: bool = False, resamples: int = RESAMPLES,
                          seed: int = 0) -> list[float]:
    """95 % interval of the policy value over bootstrap resamples of the patients: each
    resample is another population like this one, ranked and called top-k again."""
    score, gain = np.asarray(score, float), np.asarray(true_gain, float)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        picked = np.sort(rng.integers(0, len(gain), len(gain)))  # sorted: ties keep the original order
        values.append(policy_value(order_by(score[picked], ascending), gain[picked], k))
    low, high = np.percentile(values, [2.5, 97.5])
    return [float(low), float(high)]


def random_value_interval(true_gain, k: int, resamples: int = RESAMPLES, seed: int = 0) -> list[float]:
    gain = np.asarray(true_gain, float)
    rng = np.random.default_rng(seed)
    values = [random_policy_value(gain[rng.integers(0, len(gain), len(gain))], k) for _ in range(resamples)]
    low, high = np.percentile(values, [2.5, 97.5])
    return [float(low), float(high)]


def ranking_table(rankings: dict, true_gain: np.ndarray, capacities, resamples: int = RESAMPLES) -> dict:
    """Policy value (with interval), share of the oracle's and normalised AUUC per ranking.

    ``rankings`` maps a name to (score, ascending) or to None for the random ranking;
    the oracle ranks by the true gain itself and is added here.
    """
    gain = np.asarray(true_gain, float)
    rankings = {**rankings, "oracle": (gain, False)}
    table = {}
    for name, spec in rankings.items():
        entry = {"true_extra_completions": {}, "true_extra_completions_ci": {}, "share_of_oracle": {}}
        for k in capacities:
            if spec is None:
                value, ci = random_policy_value(gain, k), random_value_interval(gain, k, resamples)
            else:
                score, ascending = spec
                value = policy_value(order_by(score, ascending), gain, k)
                ci = policy_value_interval(score, gain, k, ascending, resamples)
            oracle = policy_value(order_by(gain), gain, k)
            entry["true_extra_completions"][str(k)] = value
            entry["true_extra_completions_ci"][str(k)] = ci
            entry["share_of_oracle"][str(k)] = value / oracle if oracle > 0 else None
        entry["normalised_auuc"] = 0.0 if spec is None else normalised_auuc(order_by(*spec), gain)
        table[name] = entry
    return table
