"""Global and per-patient explanations of the risk models.

Global: permutation importance on held-out rows, one score per *original* feature
(a one-hot block is permuted as one column), plus logistic-regression coefficients.

Per patient: baseline Shapley values over the original features, relative to a
reference patient (typical values of the training rows), estimated with antithetic
permutation sampling.  Every sampled permutation splits f(x) − f(reference)
exactly, so the contributions always add up to the patient's risk minus the
reference risk; for a model that is additive in its output (logistic regression
on the logit scale) every permutation gives the same, exact answer.

Every function works on the features the model was trained on (the columns of the
frame it is given), so a feature the data lacks is never explained or ranked.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml.features import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES

Predict = Callable[[pd.DataFrame], np.ndarray]


def reference_row(rows: pd.DataFrame) -> pd.DataFrame:
    """A typical patient over the columns of ``rows``: median of each numeric feature, most
    common category (both among the recorded values: the typical patient has them all)."""
    values = {c: [float(rows[c].median())] for c in NUMERIC_FEATURES if c in rows.columns}
    values.update({c: [rows[c].mode().iloc[0]] for c in CATEGORICAL_FEATURES if c in rows.columns})
    return pd.DataFrame(values)[[c for c in FEATURES if c in rows.columns]]


# Patients explained per batch: the coalitions of all sampled permutations of one batch are
# predicted in one call (thousands of small calls are far slower), and a batch bounds the
# memory that takes: 2,000 patients x 12 permutations x 26 steps = 624k rows, where all 11k
# in-progress patients of a 1M population at once were 3.5M rows of object columns (GBs).
SHAPLEY_BATCH_ROWS = 2000


def shapley_contributions(predict: Predict, X: pd.DataFrame, reference: pd.DataFrame,
                          n_permutations: int = 12, seed: int = 0) -> pd.DataFrame:
    """Per-row contributions (same units as `predict`) for every feature (column) of X.

    Every row gets the same sampled permutations (drawn once from ``seed``), so the answer does
    not depend on how the rows are batched.
    """
    features = list(X.columns)
    X = X.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    orders = []
    for _ in range(max(1, n_permutations // 2)):
        order = rng.permutation(len(features))
        orders += [order, order[::-1]]  # antithetic pairs cut the sampling variance
    # position[p, j]: where feature j comes in permutation p.  At step s of permutation p
    # the features placed before s take the patient's values, the rest the reference's.
    position = np.argsort(np.asarray(orders), axis=1)
    batches = [_shapley_batch(predict, X.iloc[start:start + SHAPLEY_BATCH_ROWS], reference, features, position)
               for start in range(0, len(X), SHAPLEY_BATCH_ROWS)]
    total = np.concatenate(batches) if batches else np.zeros((0, len(features)))
    return pd.DataFrame(total, columns=features)


def _shapley_batch(predict: Predict, X: pd.DataFrame, reference: pd.DataFrame, features: list,
                   position: np.ndarray) -> np.ndarray:
    """(rows, features) mean contributions over the permutations ``position`` for the rows X."""
    n, n_features, n_orders = len(X), len(features), len(position)
    steps = np.arange(n_features + 1)
    stacked = {}
    for j, column in enumerate(features):
        from_patient = position[:, j][:, None] < steps[None, :]  # (permutations, steps)
        values = np.where(from_patient[:, :, None], X[column].to_numpy()[None, None, :],
                          reference[column].iloc[0])
        stacked[column] = values.reshape(-1)
    # Each column keeps its array's dtype: text stays object, which pandas would otherwise convert
    # to its Arrow-backed text (4 s per 11k patients at 1M) only for the encoder to read it back.
    frame = pd.DataFrame({column: pd.Series(stacked[column], dtype=stacked[column].dtype, copy=False)
                          for column in features})
    predictions = predict(frame).reshape(n_orders, n_features + 1, n)
    total = np.zeros((n, n_features))
    for p in range(n_orders):
        gains = np.diff(predictions[p], axis=0)  # (steps, n): gain of the feature placed at each step
        total += gains[position[p]].T
    return total / n_orders


def grouped_permutation_importance(predict: Predict, X: pd.DataFrame, outcome: np.ndarray,
                                   n_repeats: int = 3, seed: int = 0) -> pd.Series:
    """Mean drop in ROC-AUC when one original feature's values are shuffled.

    Every shuffled copy is stacked and predicted in one call (many small calls are slow).
    """
    rng = np.random.default_rng(seed)
    X = X.reset_index(drop=True)
    baseline = roc_auc_score(outcome, predict(X))
    copies = []
    features = list(X.columns)
    for column in features:
        for _ in range(n_repeats):
            shuffled = X.copy()
            shuffled[column] = X[column].to_numpy()[rng.permutation(len(X))]
            copies.append(shuffled)
    predictions = predict(pd.concat(copies, ignore_index=True)).reshape(len(features), n_repeats, len(X))
    drops = {column: float(np.mean([baseline - roc_auc_score(outcome, predictions[i, r]) for r in range(n_repeats)]))
             for i, column in enumerate(features)}
    return pd.Series(drops).sort_values(ascending=False)


def logistic_coefficients(pipeline) -> pd.DataFrame:
    """Coefficients per transformed column (standardised numerics, one-hot levels)."""
    names = pipeline.named_steps["preprocess"].get_feature_names_out()
    coefs = pipeline.named_steps["model"].coef_[0]
    frame = pd.DataFrame({"column": names, "coefficient": coefs})
    frame["feature"] = frame["column"].str.split("__", n=1).str[1]
    # "missingindicator_lead_days" is the coefficient of lead_days being missing.
    frame["feature"] = frame["feature"].str.removeprefix("missingindicator_")
    for column in CATEGORICAL_FEATURES:
        is_level = frame["feature"].str.startswith(column + "_")
        frame.loc[is_level, "feature"] = column
    return frame.reindex(frame["coefficient"].abs().sort_values(ascending=False).index).reset_index(drop=True)
