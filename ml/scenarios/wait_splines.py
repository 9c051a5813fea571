"""A booked-wait curve per group (e.g. per stage and payer) as a spline basis for linear models.

Waits matter non-linearly (short waits cost little, long ones a lot) and differently per
stage and per patient group, so one linear slope shared by every stage misstates the
effect of a wait-time cut.  Each group gets its own B-spline basis of the wait, placed
at that group's quantiles; a row contributes only to its own group's columns.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import SplineTransformer

GROUP_SEPARATOR = "|"


NOT_RECORDED = "(not recorded)"  # the level of a missing value: its own group, never a guessed one


def _level_text(values: pd.Series) -> np.ndarray:
    return values.astype(object).where(values.notna(), NOT_RECORDED).astype(str).to_numpy(dtype=object)


def group_keys(frame: pd.DataFrame, groups) -> np.ndarray:
    """'stage|payer'-style key of each row (string columns joined in order)."""
    keys = _level_text(frame[groups[0]])
    for column in groups[1:]:
        keys = keys + GROUP_SEPARATOR + _level_text(frame[column])
    return keys


class GroupedWaitSplines(BaseEstimator, TransformerMixin):
    """Columns: for each group level, a spline basis of `value` (zero outside the level).

    Input: a frame with `value` and the `groups` columns.  A level never seen in fit, or
    seen with fewer than `min_rows` rows or a single value (`left_out_`), gets all-zero
    columns: no wait curve of its own, rather than one drawn through a handful of points."""

    def __init__(self, value: str = "lead_days", groups: tuple = ("awaiting_stage",), n_knots: int = 5,
                 degree: int = 2, knots: tuple | None = None, min_rows: int = 20):
        self.value, self.groups, self.n_knots, self.degree, self.knots = value, groups, n_knots, degree, knots
        self.min_rows = min_rows

    def fit(self, X: pd.DataFrame, y=None):
        keys = group_keys(X, list(self.groups))
        values = X[self.value].to_numpy(float)
        self.splines_, self.left_out_ = {}, []
        for level in sorted(set(keys)):
            own = values[keys == level]
            if len(own) < self.min_rows or len(np.unique(own)) < 2:
                self.left_out_.append(level)
                continue
            knots = "quantile" if self.knots is None else np.asarray(self.knots, dtype=float).reshape(-1, 1)
            self.splines_[level] = SplineTransformer(
                n_knots=min(self.n_knots, len(np.unique(own))), degree=self.degree, knots=knots,
                extrapolation="linear").fit(own.reshape(-1, 1))
        self.levels_ = tuple(self.splines_)
        self.n_features_out_ = sum(s.n_features_out_ for s in self.splines_.values())
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        keys = group_keys(X, list(self.groups))
        values = X[self.value].to_numpy(float).reshape(-1, 1)
        parts = []
        for level in self.levels_:
            rows = keys == level
            basis = np.zeros((len(values), self.splines_[level].n_features_out_))
            if rows.any():
                basis[rows] = self.splines_[level].transform(values[rows])
            parts.append(basis)
        return np.hstack(parts)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray([f"{self.value}[{level}]_{i}" for level in self.levels_
                           for i in range(self.splines_[level].n_features_out_)], dtype=object)
