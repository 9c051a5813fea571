"""95 % intervals of a scenario projection without a resampling loop.

A projection's headline numbers are smooth functions of a few patient means: the
baseline chance of not dropping out (b), the gain under the levers (d) and the gain of
the costed lever alone (c).  Two sources of uncertainty are added:

- **patients** (which patients happened to be in the cohort): the delta method, i.e.
  the variance of each statistic's influence values over the patients divided by n.
  For the sums and means used here it equals the large-sample variance of the Poisson
  bootstrap the engine ran before (200 resamples × every patient, 4 s a slider move at
  1M patients), at the cost of one pass over the patients;
- **the model** (the stage-attendance model's coefficients): the spread, over the
  model's coefficient draws, of the total gain.  The engine may compute the draws on a
  fixed random subsample of the patients and scale the total up
  (``scaled_draw_totals``): the draws move every patient's gain together, so a few
  thousand patients estimate the spread of the total well (checked against the full
  population in tests/ml/test_scenario_intervals.py).

The two are independent, so their variances add; the interval is normal.  Coverage is
checked by simulation in the tests (the population value inside 93-97 % of 95 %
intervals) and against the bootstrap on the default data.
"""
from __future__ import annotations

import numpy as np

from data.analytics.intervals import Z_95


def _bounds(estimate: float, variance: float) -> list[float]:
    half = Z_95 * float(np.sqrt(max(variance, 0.0)))
    return [float(estimate - half), float(estimate + half)]


def _spread(totals: np.ndarray | None) -> float:
    """Variance over the model's draws of a total (0 without draws)."""
    if totals is None or len(totals) < 2:
        return 0.0
    return float(np.var(totals, ddof=1))


def scaled_draw_totals(draw_deltas: np.ndarray, fitted: np.ndarray, population: int) -> np.ndarray:
    """Each draw's total change over the population, estimated from a subsample:
    (draws, sampled patients) gains and the fitted model's gains for the same patients.
    Only the deviation from the fitted model is scaled up; the fitted total is known exactly
    and cancels from the spread anyway."""
    sampled = draw_deltas.shape[1]
    if sampled == 0:
        return np.zeros(draw_deltas.shape[0])
    return (draw_deltas - fitted[None, :]).sum(axis=1) * (population / sampled)


def projection_intervals(base: np.ndarray, delta: np.ndarray, costed: np.ndarray, extra_positives: float,
                         cost: float, draw_totals: np.ndarray | None = None,
                         costed_draw_totals: np.ndarray | None = None) -> dict:
    """95 % intervals of the projected completion rate, the relative improvement, the extra
    completions and the cost per extra completion (None where an interval does not exist).

    ``base``, ``delta``, ``costed``: per-patient baseline chance, gain under all levers and gain
    under the costed lever.  ``draw_totals`` / ``costed_draw_totals``: the total of ``delta`` /
    ``costed`` under each of the model's coefficient draws (only their spread is used).
    Extra positive screens complete at the baseline rate, as in the point estimate."""
    n = len(base)
    mean_b, mean_d = float(base.mean()), float(delta.mean())
    model_var = _spread(draw_totals)
    projected = mean_b + mean_d
    rate_ci = _bounds(projected, np.var(base + delta) / n + model_var / n ** 2)
    out = {"projected_completion_rate_ci": [max(0.0, rate_ci[0]), min(1.0, rate_ci[1])]}
    if mean_b > 0:
        relative = mean_d / mean_b
        influence = (delta - relative * base) / mean_b
        out["relative_improvement_ci"] = _bounds(relative, np.var(influence) / n + model_var / (n * mean_b) ** 2)
    else:
        out["relative_improvement_ci"] = None
    extra = n * mean_d + extra_positives * mean_b
    out["extra_completions_ci"] = _bounds(extra, np.var(n * delta + extra_positives * base) / n + model_var)
    out["cost_per_extra_completion_ci"] = None
    costed_extra = float(costed.sum())
    if cost and costed_extra > 0:
        # On the log scale: the outreach's gain is a sum of a few contacted patients' skewed
        # gains, whose normal interval would under-cover (89 % in the coverage test) and can
        # reach zero; the log interval covers 95 % there and stays positive.
        relative_se = np.sqrt(n * np.var(costed) + _spread(costed_draw_totals)) / costed_extra
        factor = float(np.exp(Z_95 * relative_se))
        out["cost_per_extra_completion_ci"] = [float(cost / (costed_extra * factor)),
                                               float(cost * factor / costed_extra)]
    return out
