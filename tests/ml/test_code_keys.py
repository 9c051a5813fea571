"""Keys that follow the code: a changed feature/label/evaluation rule or pathway gives a new
registry key and a new cohort-frame fingerprint, so no stale result is served."""
from __future__ import annotations

import inspect
from dataclasses import replace

import ml.code_fingerprint as code_fingerprint
from callbacks.context import dataset_fingerprint
from ml.registry import model_key
from tests.conftest import fast_training_config


def _edited(module_name):
    original = inspect.getsource

    def getsource(module):
        text = original(module)
        return text + "\n# a changed rule\n" if module.__name__ == module_name else text
    return getsource


def test_changing_feature_or_evaluation_code_changes_the_model_key(small_dataset, monkeypatch):
    config = fast_training_config()
    before = model_key(small_dataset, config)
    for module in ("ml.features", "ml.risk.evaluation", "data.journeys"):
        with monkeypatch.context() as patch:
            patch.setattr(code_fingerprint.inspect, "getsource", _edited(module))
            assert model_key(small_dataset, config) != before, module
    assert model_key(small_dataset, config) == before


def test_changing_journey_code_changes_the_cohort_frame_fingerprint(small_dataset, monkeypatch):
    before = dataset_fingerprint(small_dataset)
    monkeypatch.setattr(code_fingerprint.inspect, "getsource", _edited("data.pathway"))
    assert dataset_fingerprint(small_dataset) != before


def _longer_window(pathway):
    program = pathway.programs[0]
    stage = next(iter(program.windows))
    windows = {**program.windows, stage: program.windows[stage] + 30}
    return replace(pathway, programs=(replace(program, windows=windows), *pathway.programs[1:]))


def test_changing_the_pathway_definition_changes_both_keys(small_dataset):
    changed = replace(small_dataset, pathway=_longer_window(small_dataset.pathway))
    config = fast_training_config()
    assert model_key(changed, config) != model_key(small_dataset, config)
    assert dataset_fingerprint(changed) != dataset_fingerprint(small_dataset)
    # where the same definition was read from does not matter
    moved = replace(small_dataset, pathway=replace(small_dataset.pathway, source="elsewhere/pathway.toml"))
    assert model_key(moved, config) == model_key(small_dataset, config)
