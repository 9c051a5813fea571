"""Reading and atomic writing of datasets, unreadable files, and the validate CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import data.io as dio
from data.io import atomic_write_text, read_dataset, write_dataset
from data.schema import EVENT_COLUMNS, PATIENT_COLUMNS
from data.validation import ContractError
from tests.data.test_validation import AS_OF, make_tables, typed

ROOT = Path(__file__).resolve().parents[2]


def ground_truth() -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": ["P001", "P004"],
        "decision_stage": ["diagnosis", "follow_up"],
        "decision_date": pd.to_datetime(["2023-01-10", "2023-12-20"]).astype("datetime64[ns]"),
        "true_dropout_probability": [0.35, 0.2],
        "will_drop_out": [False, True],
    })


def write(out_dir: Path, fmt: str = "parquet", **changes) -> dict:
    patients, events = make_tables()
    tables = {"patients": patients, "events": events, "ground_truth": ground_truth(), **changes}
    return write_dataset(tables, {"as_of": AS_OF, "seed": 7}, out_dir, fmt=fmt)


def leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_round_trip(tmp_path, fmt):
    out = tmp_path / "ds"
    manifest = write(out, fmt)
    assert manifest["format"] == fmt and manifest["as_of"] == "2023-12-31"
    assert set(manifest["files"]) == {"patients", "events", "ground_truth"}
    assert manifest["files"]["events"]["rows"] == 11
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"patients.{fmt}", f"events.{fmt}", f"ground_truth.{fmt}", "manifest.json"])

    ds = read_dataset(out)
    patients, events = typed(*make_tables())
    pd.testing.assert_frame_equal(ds.patients, patients)
    pd.testing.assert_frame_equal(ds.events, events)
    pd.testing.assert_frame_equal(ds.ground_truth, ground_truth())
    assert ds.as_of == AS_OF
    assert ds.manifest == manifest == json.loads((out / "manifest.json").read_text())
    assert list(ds.patients.columns) == [c.name for c in PATIENT_COLUMNS]
    assert list(ds.events.columns) == [c.name for c in EVENT_COLUMNS]
    assert ds.patients["portal_user"].dtype == bool and ds.patients["age"].dtype == "int64"
    assert ds.events["date"].dtype == "datetime64[ns]"
    if fmt == "csv":
        assert '"screening",2023-01-10,"positive"' in (out / "events.csv").read_text()
    assert leftovers(tmp_path) == []


def test_overwrite_is_atomic_and_cleans_up(tmp_path):
    out = tmp_path / "ds"
    first = write(out, "parquet")
    second = write(out, "csv")
    assert first["format"] == "parquet" and second["format"] == "csv"
    assert not (out / "patients.parquet").exists()
    assert read_dataset(out).manifest["format"] == "csv"
    assert leftovers(tmp_path) == []


def test_failure_mid_write_keeps_previous_dataset(tmp_path, monkeypatch):
    out = tmp_path / "ds"
    write(out, "parquet")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = []
    real = dio._write_table

    def flaky(df, path, fmt):
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError("disk full")
        real(df, path, fmt)

    monkeypatch.setattr(dio, "_write_table", flaky)
    with pytest.raises(OSError, match="disk full"):
        write(out, "csv")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert leftovers(tmp_path) == []
    read_dataset(out)


def test_failed_swap_restores_previous_dataset(tmp_path, monkeypatch):
    out = tmp_path / "ds"
    write(out)
    real = dio.os.replace

    def failing_replace(src, dst):
        if ".tmp-" in str(src):
            raise OSError("rename failed")
        real(src, dst)

    monkeypatch.setattr(dio.os, "replace", failing_replace)
    with pytest.raises(OSError):
        write(out)
    monkeypatch.undo()
    read_dataset(out)
    assert leftovers(tmp_path) == []


def test_atomic_write_text(tmp_path):
    path = tmp_path / "sub" / "x.json"
    atomic_write_text(path, "{}")
    atomic_write_text(path, '{"a": 1}')
    assert json.loads(path.read_text()) == {"a": 1}
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.json"]


def test_as_of_inferred_without_manifest(tmp_path):
    out = tmp_path / "ds"
    write(out, "csv")
    (out / "manifest.json").unlink()
    ds = read_dataset(out)
    assert ds.manifest["as_of_inferred"] is True
    assert ds.as_of == pd.Timestamp("2023-12-20")


def test_extra_columns_dropped(tmp_path):
    patients, _ = make_tables()
    out = tmp_path / "ds"
    write(out, "csv", patients=patients.assign(notes="x"))
    assert "notes" not in read_dataset(out).patients.columns


def csv_dataset(tmp_path: Path) -> Path:
    out = tmp_path / "ds"
    write(out, "csv")
    (out / "manifest.json").write_text(json.dumps({"as_of": "2023-12-31"}))  # no checksums to trip over
    return out


def contract_error(directory: Path) -> ContractError:
    with pytest.raises(ContractError) as info:
        read_dataset(directory)
    return info.value


def assert_rule(error: ContractError, file: str, column: str | None, rule: str) -> None:
    assert any(p.file.endswith(file) and p.column == column and p.rule == rule for p in error.problems), str(error)
    assert file in str(error) and rule in str(error)


def test_bad_date_in_csv(tmp_path):
    out = csv_dataset(tmp_path)
    text = (out / "events.csv").read_text().replace("2023-01-15", "2023-13-45")
    (out / "events.csv").write_text(text)
    error = contract_error(out)
    assert_rule(error, "events.csv", "date", "type")
    assert "row 4: patient_id=P002, date='2023-13-45'" in str(error)


def test_missing_column_in_csv(tmp_path):
    out = csv_dataset(tmp_path)
    pd.read_csv(out / "patients.csv").drop(columns="program").to_csv(out / "patients.csv", index=False)
    assert_rule(contract_error(out), "patients.csv", "program", "missing_column")


def test_empty_file(tmp_path):
    out = csv_dataset(tmp_path)
    (out / "events.csv").write_bytes(b"")
    assert_rule(contract_error(out), "events.csv", None, "empty_file")


def test_header_only_file(tmp_path):
    out = csv_dataset(tmp_path)
    header = (out / "patients.csv").read_text().splitlines()[0]
    (out / "patients.csv").write_text(header + "\n")
    assert_rule(contract_error(out), "patients.csv", None, "empty_table")


def test_file_that_is_not_csv(tmp_path):
    out = csv_dataset(tmp_path)
    (out / "events.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    error = contract_error(out)
    assert_rule(error, "events.csv", None, "not_csv")
    assert "PNG" in str(error)


def test_binary_junk(tmp_path):
    out = csv_dataset(tmp_path)
    (out / "patients.csv").write_bytes(bytes(range(256)) * 16)
    assert_rule(contract_error(out), "patients.csv", None, "not_csv")


def test_non_utf8_bytes(tmp_path):
    out = csv_dataset(tmp_path)
    text = (out / "patients.csv").read_text().replace("S02", "Sé02")
    (out / "patients.csv").write_bytes(text.encode("latin-1"))
    error = contract_error(out)
    assert_rule(error, "patients.csv", None, "encoding")
    assert "line 5" in str(error)


def test_corrupt_parquet_and_checksum(tmp_path):
    out = tmp_path / "ds"
    write(out)
    (out / "events.parquet").write_bytes(b"PAR1 not really")
    error = contract_error(out)
    assert_rule(error, "events.parquet", None, "not_parquet")
    assert_rule(error, "events.parquet", None, "checksum")


def test_missing_files_raise_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_dataset(tmp_path / "nope")
    (tmp_path / "ds").mkdir()
    with pytest.raises(FileNotFoundError, match="patients"):
        read_dataset(tmp_path / "ds")


def run_cli(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "data.validate", str(directory)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_valid(tmp_path):
    out = tmp_path / "ds"
    write(out)
    result = run_cli(out)
    assert result.returncode == 0, result.stderr
    assert "patients:" in result.stdout and "2023-12-31" in result.stdout and "colorectal 2" in result.stdout


def test_cli_invalid_and_missing(tmp_path):
    patients, events = make_tables()
    events.loc[4, "patient_id"] = "P999"
    out = tmp_path / "ds"
    write(out, "csv", events=events)
    result = run_cli(out)
    assert result.returncode == 1
    assert "unknown_patient" in result.stderr and "Traceback" not in result.stderr

    result = run_cli(tmp_path / "nope")
    assert result.returncode == 2 and "not found" in result.stderr
