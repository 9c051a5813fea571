"""The analytic workspace: each table derived once per dataset, the same rows as the functions
it replaces, kept on disk so a cached start derives nothing, and healed when a file is damaged."""
from __future__ import annotations

import sys
from collections import Counter

import pandas as pd
import data.journeys
from data.io import read_dataset
from ml import features
from ml.targeting.rows import SWEEP_DAYS, pilot_rows
from ml.workspace import AnalyticWorkspace, read_table, write_table

DERIVATIONS = ("derive_journeys", "derive_decision_points")


def count_derivations(monkeypatch) -> Counter:
    """Count every call of the journey derivations, whichever module's name for them is called."""
    counts = Counter()
    for name in DERIVATIONS:
        original = getattr(data.journeys, name)

        def counting(*args, _name=name, _original=original, **kwargs):
            counts[_name] += 1
            return _original(*args, **kwargs)
        for module in list(sys.modules.values()):
            if module is not None and vars(module).get(name) is original:
                monkeypatch.setattr(module, name, counting)
    return counts


def fresh_copy(dataset):
    """The same data read again, as a new process would: no workspace attached yet."""
    return read_dataset(dataset.source_dir)


def test_workspace_tables_are_the_rows_the_functions_derive(small_dataset):
    workspace = AnalyticWorkspace(small_dataset)  # not the shared one: derives afresh
    args = (small_dataset.patients, small_dataset.events, small_dataset.as_of, small_dataset.pathway)
    pd.testing.assert_frame_equal(workspace.journeys, data.journeys.derive_journeys(*args))
    pd.testing.assert_frame_equal(workspace.decision_points, data.journeys.derive_decision_points(*args))
    pd.testing.assert_frame_equal(workspace.training_rows, features.training_rows(*args))
    pd.testing.assert_frame_equal(workspace.decision_day_rows, features.decision_day_rows(*args))
    pd.testing.assert_frame_equal(workspace.scoring_rows, features.scoring_rows(*args))
    pd.testing.assert_frame_equal(workspace.pilot_rows(small_dataset.outreach, SWEEP_DAYS),
                                  pilot_rows(args[0], args[1], small_dataset.outreach, args[2], args[3]))


def test_tables_read_back_exactly_as_derived(small_dataset, tmp_path):
    # pandas reads Parquet text as its string dtype and missing text as NaN; the rows code
    # compares against None and object arrays, so a cached start must see what a first start saw.
    workspace = AnalyticWorkspace(small_dataset)
    for name in ("journeys", "decision_points", "training_rows", "scoring_rows"):
        frame = getattr(workspace, name)
        write_table(frame, tmp_path / f"{name}.parquet")
        again = read_table(tmp_path / f"{name}.parquet")
        pd.testing.assert_frame_equal(again, frame, check_exact=True)
        for column in frame.columns[frame.dtypes == object]:
            assert ({type(v) for v in again[column] if not isinstance(v, str)}
                    == {type(v) for v in frame[column] if not isinstance(v, str)}), (name, column)


def test_a_corrupt_workspace_file_is_deleted_and_derived_again_with_one_log_line(small_dataset, tmp_path,
                                                                              monkeypatch):
    written = AnalyticWorkspace(fresh_copy(small_dataset), cache_dir=tmp_path)
    expected = written.decision_points
    path = tmp_path / "workspace" / written.key / "decision_points.parquet"
    path.write_bytes(path.read_bytes()[:200])  # truncated, as by a full disk or a killed copy

    lines = []
    counts = count_derivations(monkeypatch)
    healed = AnalyticWorkspace(fresh_copy(small_dataset), cache_dir=tmp_path, log=lines.append)
    pd.testing.assert_frame_equal(healed.decision_points, expected)
    assert counts["derive_decision_points"] == 1
    assert len(lines) == 1 and "decision_points.parquet" in lines[0] and "deriving it again" in lines[0]
    pd.testing.assert_frame_equal(read_table(path), expected)  # rewritten whole

    counts.clear()
    pd.testing.assert_frame_equal(AnalyticWorkspace(fresh_copy(small_dataset), cache_dir=tmp_path).decision_points,
                                  expected)
    assert sum(counts.values()) == 0


def test_another_dataset_or_rule_gets_another_key(small_dataset, monkeypatch):
    from dataclasses import replace

    import ml.code_fingerprint as code_fingerprint

    key = AnalyticWorkspace(small_dataset).key
    assert AnalyticWorkspace(replace(small_dataset, patients=small_dataset.patients.iloc[1:])).key != key
    original = code_fingerprint.inspect.getsource
    monkeypatch.setattr(code_fingerprint.inspect, "getsource",
                        lambda module: original(module) + ("\n# changed" if module.__name__ == "ml.features" else ""))
    assert AnalyticWorkspace(small_dataset).key != key


def test_each_dataset_object_has_one_workspace_and_a_changed_copy_its_own(small_dataset):
    from dataclasses import replace

    assert AnalyticWorkspace.of(small_dataset) is AnalyticWorkspace.of(small_dataset)
    assert AnalyticWorkspace.of(replace(small_dataset)) is not AnalyticWorkspace.of(small_dataset)


def test_a_shallow_copy_made_after_first_use_gets_its_own_workspace(small_dataset):
    """copy.copy(dataset) copies the workspace attribute too; the tests and the re-training swap
    copy a dataset and change its tables (bookings removed, another outreach log), and were
    served the original's decision points (a booking-free model trained on booked rows)."""
    import copy

    original = AnalyticWorkspace.of(small_dataset)
    changed = copy.copy(small_dataset)
    changed.events = small_dataset.events.assign(next_appointment_date=pd.NaT)
    workspace = AnalyticWorkspace.of(changed)
    assert workspace is not original and workspace.dataset is changed
    assert AnalyticWorkspace.of(small_dataset) is original


def test_a_released_table_leaves_memory_and_comes_back_from_disk(small_dataset, tmp_path, monkeypatch):
    workspace = AnalyticWorkspace(fresh_copy(small_dataset), cache_dir=tmp_path)
    rows = workspace.training_rows
    workspace.pilot_rows(small_dataset.outreach, SWEEP_DAYS)
    workspace.release("training_rows", "pilot_rows")
    assert set(workspace.in_memory()) == {"decision_points"}
    counts = count_derivations(monkeypatch)
    pd.testing.assert_frame_equal(workspace.training_rows, rows)
    assert sum(counts.values()) == 0


def test_a_file_for_a_new_model_replaces_the_old_one_beside_the_tables(small_dataset, tmp_path):
    """The analytics engine's file is kept per model key: a new model's file must not leave the
    old one (at 10M about a gigabyte) beside it for ever, nor remove another family's files."""
    workspace = AnalyticWorkspace(small_dataset, cache_dir=tmp_path)
    old = workspace.file_path("engine", "model-a", ".duckdb")
    old.write_bytes(b"old model's tables")
    old.with_name(old.name + ".lock").touch()
    other = old.with_name("scenarios-model-a.pickle")
    other.write_bytes(b"another family")
    new = workspace.file_path("engine", "model-b", ".duckdb")
    assert new.parent == old.parent == tmp_path / "workspace" / workspace.key
    assert not old.exists() and not old.with_name(old.name + ".lock").exists()
    assert other.exists()
    assert AnalyticWorkspace(small_dataset).file_path("engine", "model-b", ".duckdb") is None  # no cache folder
