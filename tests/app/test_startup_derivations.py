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
    # The analytics engine's file is written at start-up (before any worker forks) for this
    # model's risk tiers, and the pages' engine reads it, with the reference's numbers.
    assert first.engine_file is not None and first.engine_file.exists()
    assert first.models.key in first.engine_file.name
    written = first.engine_file.stat().st_mtime_ns
    from callbacks import analytics
    from data.cohort_filter import CohortFilter
    from data.warehouse.engine import PandasEngine

    engine = analytics.engine()
    assert engine.database == first.engine_file
    cohort = CohortFilter(risk_tiers=("high",))
    assert repr(engine.overview(cohort)) == repr(PandasEngine(first.cohort_frame, small_dataset.pathway).overview(cohort))
    # Training's rows (1M patients: about a million landmark rows) are not kept to serve.
    assert not any(name.startswith(("training_rows", "pilot_rows")) for name in first.workspace.in_memory())

    counts.clear()
    monkeypatch.setattr(registry, "_loaded", {})  # as a new process: models come from the registry folder
    cached = _start(runtime, fresh_copy(small_dataset))
    assert sum(counts.values()) == 0, counts
    pd.testing.assert_frame_equal(cached.cohort_frame, first.cohort_frame)
    pd.testing.assert_frame_equal(cached.follow_up, first.follow_up)  # read back from Parquet, same frame
    pd.testing.assert_frame_equal(cached.lookup.scoring_features, first.lookup.scoring_features)
    assert cached.engine_file == first.engine_file and first.engine_file.stat().st_mtime_ns == written


def _count_engine_builds(monkeypatch) -> Counter:
    from ml.scenarios import engine as scenario_engine

    builds = Counter()
    build = scenario_engine.ScenarioEngine._build_chain

    def counted(self):
        builds["attendance model and chain"] += 1
        return build(self)

    monkeypatch.setattr(scenario_engine.ScenarioEngine, "_build_chain", counted)
    return builds


def test_a_cached_start_loads_the_scenario_engine_and_projects_the_same(small_dataset, runtime, monkeypatch):
    """At 1M the engine's fit (attendance model, every patient's chain) took a minute of each
    start; a cached start now loads it. Fails if the cache is never read, or if the loaded engine
    lost part of its state or its attachment to this start's data and models."""
    from ml import registry
    from ml.scenarios.levers import ScenarioLevers

    monkeypatch.setattr(registry, "_loaded", {})
    builds = _count_engine_builds(monkeypatch)
    first = _start(runtime, fresh_copy(small_dataset))
    assert builds["attendance model and chain"] == 1
    monkeypatch.setattr(registry, "_loaded", {})
    cached = _start(runtime, fresh_copy(small_dataset))
    assert builds["attendance model and chain"] == 1, "a cached start fitted the scenario engine again"
    assert cached.scenarios.dataset is cached.dataset and cached.scenarios.bundle is cached.models
    levers = ScenarioLevers(wait_cut_pct={"diagnosis": 0.3, "follow_up": 0.2}, attendance_pp={"treatment": 0.05},
                            outreach_top_pct=0.2, outreach_effectiveness=0.3)
    cohort = first.cohort_frame["patient_id"][first.cohort_frame["site"] == first.sites[0]]
    for ids in (None, cohort):
        assert cached.scenarios.project(levers, ids) == first.scenarios.project(levers, ids)


def test_an_unreadable_scenario_engine_file_is_rebuilt_with_one_log_line(small_dataset, runtime, monkeypatch):
    from ml import registry
    from ml.scenarios.levers import ScenarioLevers

    monkeypatch.setattr(registry, "_loaded", {})
    first = _start(runtime, fresh_copy(small_dataset))
    [saved] = (runtime.cache_dir / "workspace").glob("*/scenario_engine-*.pickle")
    saved.write_bytes(saved.read_bytes()[:1000])  # a write cut short by a full disk or a killed process
    monkeypatch.setattr(registry, "_loaded", {})
    builds = _count_engine_builds(monkeypatch)
    lines = []
    server = Flask("startup-heal")
    context.init_cache(server, runtime, log=lambda message: None)
    healed = context.load(server, dataset=fresh_copy(small_dataset), settings=runtime, log=lines.append,
                          training_config=fast_training_config())
    assert builds["attendance model and chain"] == 1
    assert [line for line in lines if "scenario_engine could not be read" in line]
    levers = ScenarioLevers(wait_cut_pct={"treatment": 0.3})
    assert healed.scenarios.project(levers) == first.scenarios.project(levers)
    assert saved.exists() and saved.stat().st_size > 1000  # written again, whole
