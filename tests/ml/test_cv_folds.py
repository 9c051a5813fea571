"""Cross-validation folds run side by side only while the training rows are few: at 1M patients
two logistic-regression folds at once held two copies of the one-hot design (the first start's
4.09 GB peak); above ``parallel_folds_max_rows`` they run one after another."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from ml.risk import training
from ml.risk.models import TrainingConfig


@pytest.fixture
def rows():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.integers(20, 90, 400).astype(float), "adi": rng.random(400) * 100})
    y = (rng.random(400) < 0.3).astype(int)
    splits = [(np.arange(400)[np.arange(400) % 2 != k], np.arange(400)[np.arange(400) % 2 == k]) for k in (0, 1)]
    return X, y, splits


def _jobs_asked(monkeypatch, config, rows) -> list:
    asked = []
    real = training.Parallel

    def recording(n_jobs=None, **kwargs):
        asked.append(n_jobs)
        return real(n_jobs=n_jobs, **kwargs)

    monkeypatch.setattr(training, "Parallel", recording)
    X, y, splits = rows
    raw, models, _ = training._cross_validate("logistic_regression", config, X, y, splits, log=lambda m: None)
    assert np.isfinite(raw).all() and len(models) == 2
    return asked


def test_few_rows_fit_their_folds_side_by_side(monkeypatch, rows):
    assert _jobs_asked(monkeypatch, TrainingConfig(n_jobs=2), rows) == [2]


def test_many_rows_fit_their_folds_one_after_another(monkeypatch, rows):
    config = replace(TrainingConfig(n_jobs=2), parallel_folds_max_rows=100)
    assert _jobs_asked(monkeypatch, config, rows) == [1]
