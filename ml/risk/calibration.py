"""Platt recalibration of risk scores, fitted on out-of-fold predictions.

A logistic fit of the outcome on the logit of the raw score: it fixes the
calibration slope and intercept without changing the ranking (AUC is unchanged).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression

EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(p, EPS, 1 - EPS))


@dataclass
class PlattCalibrator:
    slope: float = 1.0
    intercept: float = 0.0

    @classmethod
    def fit(cls, raw: np.ndarray, outcome: np.ndarray, weight: np.ndarray | None = None) -> "PlattCalibrator":
        """``weight``: per-row sample weights (ml.drop_in's IPC weights; 0 leaves a row out)."""
        raw, outcome = np.asarray(raw, float), np.asarray(outcome)
        if weight is not None:
            kept = np.asarray(weight) > 0
            raw, outcome, weight = raw[kept], outcome[kept], np.asarray(weight, float)[kept]
        model = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(raw).reshape(-1, 1), outcome, sample_weight=weight)
        return cls(slope=float(model.coef_[0, 0]), intercept=float(model.intercept_[0]))

    def transform(self, raw: np.ndarray) -> np.ndarray:
        return expit(self.intercept + self.slope * _logit(np.asarray(raw, dtype=float)))


def cross_fitted_calibration(raw: np.ndarray, outcome: np.ndarray, fold: np.ndarray,
                             weight: np.ndarray | None = None) -> np.ndarray:
    """Calibrate each fold's out-of-fold scores with a calibrator fit on the other folds (with
    their ``weight``, when given); every row of the fold is calibrated, weighted or not."""
    calibrated = np.empty_like(raw, dtype=float)
    for k in np.unique(fold):
        test = fold == k
        calibrated[test] = PlattCalibrator.fit(raw[~test], outcome[~test],
                                               None if weight is None else weight[~test]).transform(raw[test])
    return calibrated


# --- Calibration measures (OHDSI PatientLevelPrediction's set), from held-out risks ---------

SMOOTH_SPAN = 0.5  # share of the rows in each local fit of the smoothed calibration curve
SMOOTH_GRID = 60


def smoothed_observed(outcome: np.ndarray, risk: np.ndarray, span: float = SMOOTH_SPAN,
                      grid_points: int = SMOOTH_GRID, sample_weight: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(grid of predicted risk, smoothed observed rate there): a loess-type local-linear fit of the
    outcome on logit(risk) with tricube weights over the nearest ``span`` share of rows.

    Written with numpy because the ICI family needs only the curve, not a modelling library.
    The rows sorted by logit(risk), a grid point's nearest rows are a contiguous run, found by
    binary search; each local fit reads only the rows of positive weight (at 1M rows, 60 passes
    over every row cost seconds per curve, and the Model page's report draws dozens).
    """
    y, p = np.asarray(outcome, float), np.clip(np.asarray(risk, float), EPS, 1 - EPS)
    x = _logit(p)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    row_weight = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight, float)[order]
    k = min(max(10, int(np.ceil(span * len(x)))), len(x))
    grid = np.unique(np.quantile(x, np.linspace(0.005, 0.995, grid_points)))
    fitted = np.empty(len(grid))
    for i, centre in enumerate(grid):
        reach = _kth_nearest_distance(x, centre, k) or 1e-9
        # Rows beyond reach × 1.000001 have tricube weight 0: they add nothing to any sum.
        lo = np.searchsorted(x, centre - reach * 1.000001, side="left")
        hi = np.searchsorted(x, centre + reach * 1.000001, side="right")
        xs, ys = x[lo:hi], y[lo:hi]
        weight = np.clip(1 - (np.abs(xs - centre) / (reach * 1.000001)) ** 3, 0, None) ** 3 * row_weight[lo:hi]
        w = weight.sum()
        mean_x, mean_y = (weight * xs).sum() / w, (weight * ys).sum() / w
        spread = (weight * (xs - mean_x) ** 2).sum()
        slope = (weight * (xs - mean_x) * (ys - mean_y)).sum() / spread if spread > 1e-12 else 0.0
        fitted[i] = mean_y + slope * (centre - mean_x)
    return expit(grid), np.clip(fitted, 0.0, 1.0)


def _kth_nearest_distance(x: np.ndarray, centre: float, k: int) -> float:
    """The k-th smallest |x - centre| of the sorted ``x``: the k nearest rows are the run
    x[start:start + k] whose farther end is nearest, found by bisection on start (the left
    end's distance shrinks and the right end's grows as the run moves right)."""
    low, high = max(0, np.searchsorted(x, centre) - k), min(np.searchsorted(x, centre), len(x) - k)
    while low < high:  # first start whose right end is at least as far as its left end
        middle = (low + high) // 2
        if x[middle + k - 1] - centre >= centre - x[middle]:
            high = middle
        else:
            low = middle + 1
    candidates = [max(centre - x[s], x[s + k - 1] - centre) for s in (low - 1, low) if 0 <= s <= len(x) - k]
    return float(min(candidates))


def _weighted_quantile(values: np.ndarray, weight: np.ndarray, q: float) -> float:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weight[order])
    return float(values[order][min(len(values) - 1, np.searchsorted(cumulative, q * cumulative[-1]))])


def calibration_measures(outcome: np.ndarray, risk: np.ndarray, sample_weight: np.ndarray | None = None) -> dict:
    """Calibration-in-the-large, logistic slope/intercept, ICI and E50/E90/Emax (Austin & Steyerberg),
    and the smoothed curve they come from.

    ``sample_weight`` (e.g. ml.drop_in's IPC weights, 0 for censored rows) makes every measure a
    weighted one: the outcomes the weighted rows stand for, not only the rows themselves.
    """
    y, p = np.asarray(outcome, float), np.asarray(risk, float)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    kept = w > 0
    y, p, w = y[kept], p[kept], w[kept]
    grid, observed = smoothed_observed(y, p, sample_weight=w)
    errors = np.abs(np.interp(p, grid, observed) - p)
    model = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(p).reshape(-1, 1), y.astype(int), sample_weight=w)
    observed_rate, mean_predicted = float(np.average(y, weights=w)), float(np.average(p, weights=w))
    return {
        "rows": int(len(y)),
        "observed_rate": observed_rate, "mean_predicted": mean_predicted,
        # observed minus predicted: > 0 means the model under-predicts on average
        "calibration_in_the_large": observed_rate - mean_predicted,
        "calibration_slope": float(model.coef_[0, 0]), "calibration_intercept": float(model.intercept_[0]),
        "ici": float(np.average(errors, weights=w)), "e50": _weighted_quantile(errors, w, 0.5),
        "e90": _weighted_quantile(errors, w, 0.9), "emax": float(errors.max()),
        "smoothed_curve": {"predicted": grid.round(4).tolist(), "observed": observed.round(4).tolist()},
    }
