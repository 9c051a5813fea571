"""ml.risk.folds must split exactly as scikit-learn's StratifiedGroupKFold(shuffle=True) does (the
risk and benefit models' cross-validation and every report figure depend on which patient is in
which fold), only faster."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import StratifiedGroupKFold

from ml.risk.folds import stratified_group_folds


def _case(seed: int, patients: int, rate: float, max_rows: int = 9):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, max_rows + 1, patients)
    groups = np.repeat([f"P{i:05d}" for i in range(patients)], sizes)
    # Outcomes shared within a patient mostly (as dropout is), sometimes mixed.
    per_patient = rng.random(patients) < rate
    y = np.repeat(per_patient, sizes).astype(int)
    flip = rng.random(len(y)) < 0.05
    y[flip] = 1 - y[flip]
    order = rng.permutation(len(y))
    return y[order], groups[order]


@pytest.mark.parametrize("seed,patients,rate,splits", [(0, 3000, 0.3, 5), (1, 800, 0.05, 5), (2, 1500, 0.5, 3),
                                                       (3, 60, 0.2, 5), (4, 5000, 0.15, 4)])
def test_same_folds_as_scikit_learn(seed, patients, rate, splits):
    y, groups = _case(seed, patients, rate)
    for random_state in (0, 7):
        ours = stratified_group_folds(y, groups, splits, random_state)
        theirs = StratifiedGroupKFold(splits, shuffle=True, random_state=random_state).split(
            np.zeros(len(y)), y, groups)
        for (train, test), (their_train, their_test) in zip(ours, theirs, strict=True):
            assert np.array_equal(test, their_test) and np.array_equal(train, their_train)


def test_many_identical_patients_break_ties_as_scikit_learn():
    """Every patient with one row and the same outcome: every fold scores the same, so only the
    tie rule (fewer rows first) decides."""
    y = np.r_[np.zeros(500, int), np.ones(100, int)]
    groups = np.array([f"P{i:04d}" for i in range(600)])
    ours = stratified_group_folds(y, groups, 5, 0)
    theirs = list(StratifiedGroupKFold(5, shuffle=True, random_state=0).split(np.zeros(600), y, groups))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(ours, theirs))


def test_too_few_groups_or_members_are_refused():
    with pytest.raises(ValueError, match="number of groups"):
        stratified_group_folds(np.array([0, 1] * 5), np.array(["a"] * 5 + ["b"] * 5), 3, 0)
    with pytest.raises(ValueError, match="members in each class"):
        stratified_group_folds(np.array([0, 1]), np.array(["a", "b"]), 3, 0)
