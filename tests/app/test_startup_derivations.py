"""The start-up path derives journeys and decision points once per dataset, and not at all on a
cached start (ml.workspace keeps them on disk): today's cost at 1M patients is seconds per pass."""
from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest
from flask import Flask

from callbacks import context
from data.settings import get_settings
from tests.conftest import fast_training_config
from tests.ml.test_workspace import count_derivations, fresh_copy


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    """Empty runtime folders (no models, no cached tables); the app's state restored afterwards."""
    monkeypatch.setenv("CAREPATH_VAR_DIR", str(tmp_path))
    previous = context._current
    yield get_settings()
    context._current = previous


def _start(settings, dataset):
    server = Flask("startup-derivations")
    context.init_cache(server, settings, log=lambda message: None)
    return context.load(server, dataset=dataset, settings=settings, log=lambda message: None,
                        training_config=fast_training_config())


def test_start_up_derives_each_table_once_and_a_cached_start_derives_nothing(small_dataset, runtime, monkeypatch):
    from ml import registry

    monkeypatch.setattr(registry, "_loaded", {})  # no models kept in memory by other tests: train here
    counts = count_derivations(monkeypatch)
    first = _start(runtime, fresh_copy(small_dataset))
    assert first.models is not None and first.scenarios is not None  # the whole path ran: training, engine
    assert counts == Counter({"derive_journeys": 1, "derive_decision_points": 1})
    # Training's rows (1M patients: about a million landmark rows) are not kept to serve.
    assert not any(name.startswith(("training_rows", "pilot_rows")) for name in first.workspace.in_memory())

    counts.clear()
    monkeypatch.setattr(registry, "_loaded", {})  # as a new process: models come from the registry folder
    cached = _start(runtime, fresh_copy(small_dataset))
    assert sum(counts.values()) == 0, counts
    pd.testing.assert_frame_equal(cached.cohort_frame, first.cohort_frame)
    pd.testing.assert_frame_equal(cached.lookup.scoring_features, first.lookup.scoring_features)
