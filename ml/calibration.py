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
    def fit(cls, raw: np.ndarray, outcome: np.ndarray) -> "PlattCalibrator":
        model = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(raw).reshape(-1, 1), outcome)
        return cls(slope=float(model.coef_[0, 0]), intercept=float(model.intercept_[0]))

    def transform(self, raw: np.ndarray) -> np.ndarray:
        return expit(self.intercept + self.slope * _logit(np.asarray(raw, dtype=float)))


def cross_fitted_calibration(raw: np.ndarray, outcome: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """Calibrate each fold's out-of-fold scores with a calibrator fit on the other folds."""
    calibrated = np.empty_like(raw, dtype=float)
    for k in np.unique(fold):
        test = fold == k
        calibrated[test] = PlattCalibrator.fit(raw[~test], outcome[~test]).transform(raw[test])
    return calibrated
