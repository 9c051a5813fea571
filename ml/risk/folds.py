"""Stratified K folds that keep every row of a patient in one fold, fast on a million rows.

The same folds as scikit-learn's ``StratifiedGroupKFold(n_splits, shuffle=True,
random_state=seed)``, index for index (tests/ml/test_folds.py): groups shuffled, then taken in
order of decreasing spread of their class counts, each put in the fold where the classes stay
most evenly spread (ties: the fold with fewer rows). scikit-learn walks the rows and the
groups in Python and scores each candidate fold with its own ``np.std`` call: 11 s for 300,000
rows of 40,000 patients inside a 1M first start. Here the per-group class counts are one
``np.add.at``, the candidate folds of a group are scored in one array operation (the same
reductions over the same axes, so the same floating-point numbers), and the test indices come
from a mask.
"""
from __future__ import annotations

import numpy as np

# np.isclose's defaults, which scikit-learn's tie rule uses.
_RTOL, _ATOL = 1e-05, 1e-08


def stratified_group_folds(y, groups, n_splits: int, random_state: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(train indices, test indices)] of each fold, as StratifiedGroupKFold(shuffle=True) splits."""
    y = np.asarray(y)
    _, y_inv, y_cnt = np.unique(y, return_inverse=True, return_counts=True)
    if np.all(n_splits > y_cnt):
        raise ValueError(f"n_splits={n_splits} cannot be greater than the number of members in each class.")
    _, groups_inv, groups_cnt = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    n_groups, n_classes = len(groups_cnt), len(y_cnt)
    if n_splits > n_groups:
        raise ValueError(f"Cannot have number of splits n_splits={n_splits} greater than the number of groups: "
                         f"{n_groups}.")
    counts = np.zeros((n_groups, n_classes))
    np.add.at(counts, (groups_inv, y_inv), 1)
    perm = np.arange(n_groups)
    np.random.RandomState(random_state).shuffle(perm)
    counts = counts[perm]
    inv_perm = np.empty_like(perm)
    inv_perm[perm] = np.arange(perm.size)
    groups_inv = inv_perm[groups_inv]
    order = np.argsort(-np.std(counts, axis=1), kind="stable")

    per_fold = np.zeros((n_splits, n_classes))
    fold_of_group = np.empty(n_groups, dtype=np.int64)
    # candidates[i]: the fold counts if the group went to fold i (only row i changes).
    eye = np.eye(n_splits)[:, :, None]
    scale = y_cnt.reshape(1, 1, -1)
    for group in order:
        group_counts = counts[group]
        candidates = per_fold[None, :, :] + eye * group_counts[None, None, :]
        evaluation = np.mean(np.std(candidates / scale, axis=1), axis=1).tolist()
        sizes = per_fold.sum(axis=1).tolist()
        best, min_eval, min_size = 0, np.inf, np.inf
        for i in range(n_splits):
            value = evaluation[i]
            close = min_eval != np.inf and abs(value - min_eval) <= _ATOL + _RTOL * abs(min_eval)
            if value < min_eval or (close and sizes[i] < min_size):
                best, min_eval, min_size = i, value, sizes[i]
        per_fold[best] += group_counts
        fold_of_group[group] = best

    fold_of_row = fold_of_group[groups_inv]
    rows = np.arange(len(y))
    return [(rows[fold_of_row != k], rows[fold_of_row == k]) for k in range(n_splits)]
