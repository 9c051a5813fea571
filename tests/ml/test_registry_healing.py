"""The registry's load path heals (issue 11 item 4): a model artifact that fails its sidecar
checksum or cannot be unpickled is quarantined and retrained with one log line, leftover
temporary folders of a crashed save are removed, and training leaves no worker processes."""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest

from data.settings import get_settings
from ml import registry
from tests.conftest import fast_training_config


def _child_pids() -> list[int]:
    """Live processes whose parent is this one (loky's workers are, while they linger)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[1]) == os.getpid():
            children.append(int(entry.name))
    return children


@pytest.fixture
def copied_registry(small_dataset, small_models, tmp_path, monkeypatch):
    """The session's trained artifact copied into a private model folder, and no in-process memo."""
    settings = get_settings()
    key = registry.model_key(small_dataset, fast_training_config())
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    shutil.copytree(settings.model_dir / key, model_dir / key)
    monkeypatch.setattr(registry, "_loaded", {})
    return replace(settings, model_dir=model_dir), key


def test_save_records_the_bundle_checksum_in_the_sidecar(copied_registry):
    settings, key = copied_registry
    meta = json.loads((settings.model_dir / key / registry.SIDECAR_FILE).read_text())
    assert meta[registry.CHECKSUM_FIELD] == registry.file_sha256(settings.model_dir / key / registry.BUNDLE_FILE)


def test_truncated_bundle_is_quarantined_and_retrained(small_dataset, copied_registry):
    """Issue 11: a truncated bundle.joblib crashed every start until someone deleted it by hand.
    Training also leaves no joblib/loky worker processes behind (two of ~300 MB lingered)."""
    settings, key = copied_registry
    bundle_path = settings.model_dir / key / registry.BUNDLE_FILE
    with open(bundle_path, "r+b") as fh:
        fh.truncate(bundle_path.stat().st_size // 3)
    lines: list[str] = []
    before = set(_child_pids())  # loky workers of other tests' direct train_models calls may linger already
    bundle, reason = registry.load_or_train(small_dataset, settings, fast_training_config(), log=lines.append)
    assert reason is None and bundle is not None and bundle.key == key
    quarantined = [line for line in lines if "quarantine" in line]
    assert len(quarantined) == 1 and "checksum" in quarantined[0]
    kept = list((settings.model_dir / registry.QUARANTINE_DIR).iterdir())
    assert len(kept) == 1 and (kept[0] / registry.BUNDLE_FILE).stat().st_size < bundle_path.stat().st_size
    assert registry.load(settings.model_dir, key, log=lines.append) is not None  # the retrained one is sound
    assert set(_child_pids()) - before == set(), "training left worker processes running"


def test_unloadable_bundle_without_a_checksum_is_quarantined(copied_registry):
    """An artifact saved before checksums existed: the failed unpickling is what tells."""
    settings, key = copied_registry
    folder = settings.model_dir / key
    meta = json.loads((folder / registry.SIDECAR_FILE).read_text())
    meta.pop(registry.CHECKSUM_FIELD)
    (folder / registry.SIDECAR_FILE).write_text(json.dumps(meta))
    (folder / registry.BUNDLE_FILE).write_bytes(b"not a pickle at all")
    lines: list[str] = []
    assert registry.load(settings.model_dir, key, log=lines.append) is None
    assert not folder.exists()
    assert len(lines) == 1 and "cannot be loaded" in lines[0]


def test_leftover_temporary_folders_of_a_crashed_save_are_removed(small_dataset, copied_registry):
    settings, key = copied_registry
    stale = settings.model_dir / f".{key}.abc_12xy"
    fresh = settings.model_dir / f".{key}.zz9_0qrs"
    foreign = settings.model_dir / ".not-ours"
    for folder in (stale, fresh, foreign):
        folder.mkdir()
        (folder / registry.BUNDLE_FILE).write_bytes(b"half")
    hour_ago = time.time() - 3600
    for folder in (stale, foreign):
        os.utime(folder, (hour_ago, hour_ago))
    lines: list[str] = []
    registry.load_or_train(small_dataset, settings, fast_training_config(), log=lines.append)
    assert not stale.exists()
    assert fresh.exists(), "a young temporary folder may belong to a writer still at work"
    assert foreign.exists(), "only our own temporary-name pattern is removed"
    assert sum("temporary folder" in line for line in lines) == 1
