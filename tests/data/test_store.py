"""A user's data folder is only ever read: whatever it holds, start-up leaves it byte-for-byte
unchanged, and the synthetic data is generated only into the app's own runtime folder."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest

from data.io import read_dataset, write_dataset
from data.settings import get_settings
from data.store import DataFolderError, ensure_dataset


def snapshot(folder: Path) -> dict:
    """Every entry under ``folder`` and beside it: content hash, size, mode and mtime."""
    state = {"siblings": sorted(p.name for p in folder.parent.iterdir())}
    if folder.exists():
        for path in sorted(folder.rglob("*")):
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
            state[str(path.relative_to(folder))] = (digest, stat.st_size, stat.st_mode, stat.st_mtime_ns)
    return state


@pytest.fixture
def user_env(tmp_path, monkeypatch):
    """CAREPATH_DATA_DIR pointing at tmp_path/user, runtime files under tmp_path/var."""
    folder = tmp_path / "parent" / "user"
    folder.parent.mkdir()
    monkeypatch.setenv("CAREPATH_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CAREPATH_DATA_DIR", str(folder))
    monkeypatch.delenv("CAREPATH_AS_OF", raising=False)
    return folder


def _csv_dataset_without_manifest(small_dataset, folder: Path) -> None:
    tables = {"patients": small_dataset.patients, "events": small_dataset.events}
    write_dataset(tables, {}, folder, fmt="csv")
    (folder / "manifest.json").unlink()


def test_a_folder_without_a_dataset_is_refused_and_left_untouched(user_env):
    user_env.mkdir()
    (user_env / "notes.txt").write_text("my own notes\n")
    (user_env / "extract.xlsx").write_bytes(b"PK\x03\x04 not really excel")
    before = snapshot(user_env)
    with pytest.raises(DataFolderError) as error:
        ensure_dataset(get_settings(), log=lambda message: None)
    assert snapshot(user_env) == before
    message = str(error.value)
    assert "notes.txt" in message and "patients.parquet or patients.csv" in message and "untouched" in message
    assert not (Path(os.environ["CAREPATH_VAR_DIR"]) / "data").exists()  # nothing generated in its place


def test_a_missing_configured_folder_is_refused_not_created(user_env):
    with pytest.raises(DataFolderError, match="does not exist"):
        ensure_dataset(get_settings(), log=lambda message: None)
    assert not user_env.exists()


def test_a_valid_csv_dataset_without_manifest_is_served_as_the_users_data(small_dataset, user_env):
    _csv_dataset_without_manifest(small_dataset, user_env)
    before = snapshot(user_env)
    messages = []
    dataset = ensure_dataset(get_settings(), log=messages.append)
    assert snapshot(user_env) == before
    assert len(dataset.patients) == len(small_dataset.patients)
    assert "generator" not in dataset.manifest  # not mistaken for (or replaced by) synthetic data
    # No manifest and no dataset.toml: the as-of date is the latest event, and the log says so.
    assert dataset.as_of == small_dataset.events["date"].max()
    assert dataset.manifest["as_of_inferred"] is True
    assert any("latest event date" in m for m in messages)


def test_a_manifested_dataset_is_read_without_being_rewritten(small_dataset, user_env):
    write_dataset({"patients": small_dataset.patients, "events": small_dataset.events,
                   "ground_truth": small_dataset.ground_truth}, dict(small_dataset.manifest), user_env)
    before = snapshot(user_env)
    dataset = ensure_dataset(get_settings(), log=lambda message: None)
    assert snapshot(user_env) == before
    assert dataset.as_of == small_dataset.as_of


def test_as_of_comes_from_dataset_toml_then_the_setting(small_dataset, user_env, monkeypatch):
    _csv_dataset_without_manifest(small_dataset, user_env)
    (user_env / "dataset.toml").write_text("as_of = 2026-10-15\n")
    before = snapshot(user_env)
    dataset = ensure_dataset(get_settings(), log=lambda message: None)
    assert dataset.as_of == pd.Timestamp("2026-10-15")
    assert "as_of_inferred" not in dataset.manifest and dataset.as_of_source == "dataset.toml"
    monkeypatch.setenv("CAREPATH_AS_OF", "2026-10-31")
    assert ensure_dataset(get_settings(), log=lambda message: None).as_of == pd.Timestamp("2026-10-31")
    assert snapshot(user_env) == before


def test_without_a_configured_folder_the_synthetic_data_goes_to_the_runtime_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CAREPATH_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CAREPATH_DATA_DIR", raising=False)
    monkeypatch.setenv("CAREPATH_PATIENTS", "300")
    dataset = ensure_dataset(get_settings(), log=lambda message: None)
    assert dataset.source_dir == (tmp_path / "var" / "data").resolve()
    assert dataset.manifest["generator"] == "carepath.synthetic" and len(dataset.patients) == 300
    assert read_dataset(tmp_path / "var" / "data").as_of_source == "manifest.json"
