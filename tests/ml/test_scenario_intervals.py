"""Analytic scenario intervals (ml.scenarios.intervals): coverage checked by simulation.

Each test draws many cohorts from a known population and counts how often the 95 %
interval holds the population's value.  A wrong standard error (a missing √n, an
influence function without the ratio's denominator term, the model's spread left out
or not scaled up from a subsample) moves the coverage far outside 93-97 %."""
from __future__ import annotations

import numpy as np
import pytest

from ml.scenarios.intervals import projection_intervals, scaled_draw_totals

POPULATION = 200_000
REPS = 1000
COHORT = 800


def _population(rng):
    """Per-patient baseline chance (resolved 0/1, in-progress fractional), gain under all
    levers (skewed, only for those who could drop out) and the costed lever's gain."""
    resolved = rng.random(POPULATION) < 0.6
    base = np.where(resolved, (rng.random(POPULATION) < 0.7).astype(float), rng.uniform(0.2, 0.9, POPULATION))
    delta = np.where(base < 1, rng.beta(0.5, 8.0, POPULATION) * (1 - base), 0.0)
    # The costed lever (outreach) reaches a tenth of the patients, each gaining their expected
    # gain from a call: the top of that distribution, a few points to a third.
    costed = np.where(rng.random(POPULATION) < 0.1, np.minimum(rng.uniform(0.03, 0.3, POPULATION), 1 - base), 0.0)
    return base, delta, costed


def _targets(base, delta, costed, n, extra_positives, cost):
    mean_b, mean_d = base.mean(), delta.mean()
    return {"projected_completion_rate_ci": mean_b + mean_d, "relative_improvement_ci": mean_d / mean_b,
            "extra_completions_ci": n * mean_d + extra_positives * mean_b,
            "cost_per_extra_completion_ci": cost / (n * costed.mean())}


def _coverage(rng, model_scale=0.0, sample_draws=None):
    """Share of REPS cohorts whose intervals hold the population values.  With ``model_scale``
    the truth's gains are the population's times (1 + θ), θ ~ N(0, model_scale) unknown to
    the fitted model, whose coefficient draws spread the same way."""
    base, delta, costed = _population(rng)
    extra_positives, cost = 12.0, 45.0 * 80
    held = {key: 0 for key in _targets(base, delta, costed, COHORT, extra_positives, cost)}
    for _ in range(REPS):
        theta = rng.normal(0.0, model_scale) if model_scale else 0.0
        truth = _targets(base, delta * (1 + theta), costed * (1 + theta), COHORT, extra_positives, cost)
        pick = rng.integers(0, POPULATION, COHORT)
        b, d, c = base[pick], delta[pick], costed[pick]
        totals = costed_totals = None
        if model_scale:
            draws = rng.normal(0.0, model_scale, 30)
            sample = np.arange(COHORT) if sample_draws is None else rng.choice(COHORT, sample_draws, replace=False)
            totals = scaled_draw_totals(d[sample][None, :] * (1 + draws[:, None]), d[sample], COHORT)
            costed_totals = scaled_draw_totals(c[sample][None, :] * (1 + draws[:, None]), c[sample], COHORT)
        intervals = projection_intervals(b, d, c, extra_positives, cost, totals, costed_totals)
        for key, value in truth.items():
            low, high = intervals[key]
            held[key] += low <= value <= high
    return {key: count / REPS for key, count in held.items()}


def test_patient_intervals_hold_the_population_value_95_percent_of_the_time():
    coverage = _coverage(np.random.default_rng(1))
    assert all(0.93 <= share <= 0.97 for share in coverage.values()), coverage


def test_model_spread_is_added_so_intervals_still_cover_when_the_model_is_uncertain():
    """θ's spread is about the patients' (the model half of the variance): leaving the draws
    out would cover about 83 %."""
    coverage = _coverage(np.random.default_rng(2), model_scale=0.06)
    assert all(0.93 <= share <= 0.97 for share in coverage.values()), coverage


def test_draws_on_a_subsample_scaled_up_keep_the_coverage():
    """Draws on 200 of 800 patients: unscaled, their totals would spread a quarter as much."""
    coverage = _coverage(np.random.default_rng(3), model_scale=0.06, sample_draws=200)
    assert all(0.93 <= share <= 0.97 for share in coverage.values()), coverage


def test_no_cost_interval_when_the_outreach_gains_nothing():
    base = np.full(100, 0.5)
    costed = np.zeros(100)
    out = projection_intervals(base, costed, costed, 0.0, 450.0)
    assert out["cost_per_extra_completion_ci"] is None
    assert out["projected_completion_rate_ci"][0] >= 0.0


@pytest.mark.parametrize("sampled", [0, 5])
def test_scaled_draw_totals_shape(sampled):
    draws = np.ones((4, sampled))
    assert scaled_draw_totals(draws, np.zeros(sampled), 50).shape == (4,)
