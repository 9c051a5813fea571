"""Ordinal codes of text categories for the tree models' native categorical splits, computed by
pandas' hash tables instead of a Python dictionary look-up per value.

Exactly what ``OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=nan,
encoded_missing_value=nan)`` gives on text columns: each column's categories are its recorded
values in sorted order, coded 0, 1, ...; a missing value and a category not seen in fitting are
NaN (the trees route gaps natively). One difference, on purpose: ``None`` is a gap like NaN
(scikit-learn makes it a category of its own), as a table read back from the workspace's Parquet
holds None where the derived one held NaN. scikit-learn's encoder maps object values one by one in
Python and first copies pandas' Arrow-backed text (pandas 3's ``str``) to objects: at 1M patients
its transforms took 24 s of a first start (py-spy), for every fit, prediction and explanation of
the gradient boosting, the call-propensity and the benefit models. ``tests/ml/test_category_codes.py``
pins the codes to scikit-learn's.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin


def _columns(X) -> list[pd.Series]:
    if isinstance(X, pd.DataFrame):
        return [X.iloc[:, j] for j in range(X.shape[1])]
    array = np.asarray(X, dtype=object)
    return [pd.Series(array[:, j], dtype=object) for j in range(array.shape[1])]


def _recorded(values: pd.Series) -> list:
    """The column's distinct recorded values, sorted (as scikit-learn sorts object categories)."""
    _, uniques = pd.factorize(values)  # missing values are not among the uniques
    return sorted(uniques.astype(object))


def _codes(values: pd.Series, categories: np.ndarray) -> np.ndarray:
    """Each value's position in ``categories`` as float, NaN for a missing or unseen value:
    hashed once per row (factorize), then looked up once per distinct value."""
    row_codes, uniques = pd.factorize(values)
    position = pd.Index(categories, dtype=object).get_indexer(pd.Index(uniques.astype(object), dtype=object))
    lookup = np.append(np.where(position < 0, np.nan, position.astype(np.float64)), np.nan)
    return lookup[row_codes]  # factorize codes a missing value -1: the appended NaN


class CategoryCodes(TransformerMixin, BaseEstimator):
    """Text categories -> float codes (sorted categories; missing or unseen -> NaN)."""

    def fit(self, X, y=None):
        columns = _columns(X)
        self.categories_ = [np.asarray(_recorded(column), dtype=object) for column in columns]
        self.n_features_in_ = len(columns)
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X) -> np.ndarray:
        columns = _columns(X)
        if len(columns) != self.n_features_in_:
            raise ValueError(f"X has {len(columns)} features, but CategoryCodes was fitted with "
                             f"{self.n_features_in_}")
        out = np.empty((len(columns[0]) if columns else 0, len(columns)), dtype=np.float64)
        for j, (column, categories) in enumerate(zip(columns, self.categories_)):
            out[:, j] = _codes(column, categories)
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        if input_features is not None:
            return np.asarray(input_features, dtype=object)
        names = getattr(self, "feature_names_in_", None)
        return (np.asarray(names, dtype=object) if names is not None
                else np.asarray([f"x{j}" for j in range(self.n_features_in_)], dtype=object))
