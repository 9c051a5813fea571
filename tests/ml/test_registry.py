"""Registry: cache hit, version mismatch retrains, concurrent start trains once."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

import ml.registry as registry
from data.settings import get_settings
from tests.conftest import fast_training_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def settings(tmp_path):
    return replace(get_settings(), model_dir=tmp_path / "models")


@pytest.fixture(autouse=True)
def fresh_process_memo(monkeypatch):
    monkeypatch.setattr(registry, "_loaded", {})


def test_second_call_loads_instead_of_training(small_dataset, settings, monkeypatch):
    config = fast_training_config()
    first = registry.get_models(small_dataset, settings, config, log=lambda m: None)
    assert (settings.model_dir / first.key / "meta.json").exists()
    assert json.loads((settings.model_dir / first.key / "report.json").read_text())["n_decision_points"] > 0
    monkeypatch.setattr(registry, "_loaded", {})
    monkeypatch.setattr(registry, "train_models", lambda *a, **k: pytest.fail("trained again"))
    second = registry.get_models(small_dataset, settings, config, log=lambda m: None)
    assert second.key == first.key
    assert second.report == first.report


def _retrained_after_editing_versions(small_dataset, settings, monkeypatch, edit):
    """Train, change the artifact's recorded library versions with ``edit``, and check the
    registry refuses the artifact and trains again; returns the first model's key."""
    config = fast_training_config()
    first = registry.get_models(small_dataset, settings, config, log=lambda m: None)
    meta_path = settings.model_dir / first.key / "meta.json"
    meta = json.loads(meta_path.read_text())
    edit(meta["versions"])
    meta_path.write_text(json.dumps(meta))
    assert registry.load(settings.model_dir, first.key) is None
    monkeypatch.setattr(registry, "_loaded", {})
    messages = []
    registry.get_models(small_dataset, settings, config, log=messages.append)
    assert any(m.startswith("training models") for m in messages)
    return first.key


def test_artifacts_from_other_library_versions_are_retrained(small_dataset, settings, monkeypatch):
    key = _retrained_after_editing_versions(small_dataset, settings, monkeypatch,
                                            lambda versions: versions.update({"scikit-learn": "0.0.1"}))
    # and a different library version gives a different key altogether
    monkeypatch.setattr(registry, "library_versions", lambda: {"scikit-learn": "9.9"})
    assert registry.model_key(small_dataset, fast_training_config()) != key


def test_models_saved_before_the_lightgbm_switch_are_retrained_not_loaded(small_dataset, settings, monkeypatch):
    """Bug guarded: an artifact of the HistGradientBoosting era (its sidecar names no LightGBM
    version) loaded as if it were today's model, or a LightGBM upgrade keeping old pickles."""
    def drop_lightgbm(versions):
        assert versions["lightgbm"]
        del versions["lightgbm"]

    key = _retrained_after_editing_versions(small_dataset, settings, monkeypatch, drop_lightgbm)
    monkeypatch.setattr(registry, "version", lambda name: "0.0.1" if name == "lightgbm" else "?")
    assert registry.model_key(small_dataset, fast_training_config()) != key


def test_config_change_changes_the_key(small_dataset):
    config = fast_training_config()
    assert registry.model_key(small_dataset, config) != registry.model_key(small_dataset, replace(config, lr_C=0.5))


def test_two_processes_starting_together_train_once(small_dataset, settings):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from dataclasses import replace
        from data.io import read_dataset
        from data.settings import get_settings
        from ml.registry import get_models
        from tests.conftest import fast_training_config
        settings = replace(get_settings(), model_dir=__import__("pathlib").Path({str(settings.model_dir)!r}))
        dataset = read_dataset({str(small_dataset.source_dir)!r})
        bundle = get_models(dataset, settings, fast_training_config(), log=lambda m: print(m, flush=True))
        print("KEY", bundle.key, len(bundle.scores), flush=True)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=ROOT) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outputs]
    logs = [o[0] for o in outputs]
    assert sum(log.count("training models") for log in logs) == 1
    keys = {line for log in logs for line in log.splitlines() if line.startswith("KEY")}
    assert len(keys) == 1  # both ended with the same, complete model
    leftovers = [p.name for p in settings.model_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_only_side_by_side_fits_share_the_cores(small_dataset, monkeypatch):
    """Bug guarded: the per-fold share of the cores applied to the whole training, so the models
    fitted on their own (drop-in propensity, the final fits) ran on one core of two. While folds
    fit side by side the (process-wide) BLAS pools get a share. The benefit model fits on a thread
    of its own beside the risk models with a one-thread OpenMP pool (OpenMP's limit is per thread:
    the main thread keeps every core) and leaves the process-wide BLAS pools alone."""
    import os
    import threading

    from threadpoolctl import threadpool_info

    import ml.risk.training as training
    import ml.targeting.train as targeting_train

    def threads(api):
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == api}

    seen = {}
    real_benefit, real_fold = targeting_train.fit_benefit, training._fit_fold

    def benefit_spy(*args, **kwargs):
        seen["benefit"] = threads("openmp")
        seen["benefit_thread"] = threading.current_thread() is not threading.main_thread()
        return real_benefit(*args, **kwargs)

    def fold_spy(*args, **kwargs):
        seen.setdefault("folds", threads("blas"))
        return real_fold(*args, **kwargs)

    monkeypatch.setattr(targeting_train, "fit_benefit", benefit_spy)
    monkeypatch.setattr(training, "_fit_fold", fold_spy)
    registry.train_in_threads(small_dataset, fast_training_config(), key="k", log=lambda m: None)
    cores = os.cpu_count()
    assert seen["benefit"] == {1} and seen["benefit_thread"]
    assert seen["folds"] == {max(1, cores // fast_training_config().n_jobs)}
    assert threads("openmp") == {cores}  # the main thread's pool is untouched
