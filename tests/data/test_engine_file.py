"""The analytics engine's DuckDB file (data.warehouse.engine_file): written once, whole or not at
all, with the types the in-memory tables have, rewritten (with a log line) when it cannot be read
or belongs to other data, and opened read-only."""
from __future__ import annotations

import numpy as np
import pytest

from data.cohort_filter import CohortFilter
from data.warehouse import engine_file
from data.warehouse.engine import PandasEngine, open_engine
from data.warehouse.engine_file import build_engine_file, open_engine_file, patients_in
from data.warehouse.tables import COHORT_TABLE, DERIVED_TABLES, ROWS
from tests.data.test_warehouse_parity import assert_same_numbers, parity_frame


@pytest.fixture(scope="module")
def frame(small_dataset):
    return parity_frame(small_dataset)


def _schema(backend, name):
    return dict(backend.con.execute(f'DESCRIBE "{name}"').fetchall()[i][:2] for i in range(len(backend.table(name).columns)))


def test_a_gap_in_a_later_block_gives_the_whole_frames_column_type(frame, small_dataset, tmp_path):
    """Written a block at a time, an integer column (age) whose only gaps lie in the last block
    must end as the float column the whole frame gives it in memory, not as integers that the
    last block's values were cast into (or a failed insert)."""
    gappy = frame.copy()
    gappy["age"] = gappy["age"].astype("float64")
    gappy.loc[gappy.index[-5:], "age"] = np.nan
    path = build_engine_file(tmp_path / "engine.duckdb", gappy, small_dataset.pathway, block_rows=1000)
    in_file, _ = open_engine_file(path)
    in_memory = open_engine("duckdb", gappy, small_dataset.pathway)
    in_memory.overview(CohortFilter())  # registers its tables
    for name in (COHORT_TABLE, *(f"{COHORT_TABLE}__{key}" for key in DERIVED_TABLES)):
        assert in_file.table(name).schema() == in_memory._backend.table(name).schema(), name
    assert str(in_file.table(COHORT_TABLE).schema()["age"]) == "float64"
    cohort = CohortFilter(age_min=30, age_max=70)
    served = open_engine("duckdb", gappy, small_dataset.pathway, database=path)
    assert_same_numbers(PandasEngine(gappy, small_dataset.pathway), served, cohort)
    assert served.cohort_rows(cohort).tolist() == PandasEngine(gappy, small_dataset.pathway).cohort_rows(cohort).tolist()


def test_the_file_is_written_once_and_opened_read_only(frame, small_dataset, tmp_path):
    lines = []
    path = build_engine_file(tmp_path / "engine.duckdb", frame, small_dataset.pathway, log=lines.append)
    assert len(lines) == 1 and "written" in lines[0] and f"{len(frame):,} patients" in lines[0]
    written = path.stat().st_mtime_ns
    assert build_engine_file(path, frame, small_dataset.pathway, log=lines.append) == path
    assert len(lines) == 1 and path.stat().st_mtime_ns == written  # read, not written again
    assert patients_in(path) == len(frame)
    backend, tables = open_engine_file(path)
    assert set(tables) == {ROWS, *DERIVED_TABLES}
    with pytest.raises(Exception, match="read-only"):
        backend.con.execute(f'DELETE FROM "{COHORT_TABLE}"')


@pytest.mark.parametrize("damage", ["garbage", "other data"])
def test_an_unusable_file_is_written_again_with_one_log_line(frame, small_dataset, tmp_path, damage):
    path = tmp_path / "engine.duckdb"
    if damage == "garbage":  # a truncated copy, a disk error
        path.write_bytes(b"not a duckdb file" * 100)
    else:  # a file of another population under the same name (a key that missed a change)
        build_engine_file(path, frame.iloc[:500], small_dataset.pathway, log=lambda line: None)
    lines = []
    build_engine_file(path, frame, small_dataset.pathway, log=lines.append)
    assert len(lines) == 2 and "writing it again" in lines[0], lines
    assert ("cannot be read" if damage == "garbage" else f"holds 500 patients, the served data {len(frame):,}") in lines[0]
    assert patients_in(path) == len(frame)
    engine = open_engine("duckdb", frame, small_dataset.pathway, database=path)
    assert_same_numbers(PandasEngine(frame, small_dataset.pathway), engine, CohortFilter(programs=("diabetes",)))


def test_a_failed_build_leaves_no_file_behind(frame, small_dataset, tmp_path, monkeypatch):
    """Nothing half-written: a build that fails midway (disk full, a bug) leaves neither the file
    nor its temporary copy, so the next start builds it again instead of serving a part."""
    def fails(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(engine_file, "register_tables", fails)
    path = tmp_path / "engine.duckdb"
    with pytest.raises(OSError, match="No space"):
        build_engine_file(path, frame, small_dataset.pathway, log=lambda line: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["engine.duckdb.lock"]


def _overview_in_child(path, frame, pathway, queue):
    try:
        engine = open_engine("duckdb", frame, pathway, database=path)
        queue.put(repr(engine.overview(CohortFilter(programs=("diabetes",)))))
    except Exception as error:  # noqa: BLE001 - the parent's assertion shows it
        queue.put(f"worker failed: {error}")


def test_workers_forked_after_the_file_was_written_read_it_together(frame, small_dataset, tmp_path):
    """gunicorn --preload: the master writes the file (and checks it) before forking; each
    worker then opens it read-only at the same time as the others. A connection the master
    left open for writing (the build's, or the check's) refuses every worker's open."""
    import multiprocessing

    path = build_engine_file(tmp_path / "engine.duckdb", frame, small_dataset.pathway, log=lambda line: None)
    build_engine_file(path, frame, small_dataset.pathway, log=lambda line: None)  # start-up's check, in the master
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_overview_in_child, args=(path, frame, small_dataset.pathway, queue))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    answers = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    expected = repr(PandasEngine(frame, small_dataset.pathway).overview(CohortFilter(programs=("diabetes",))))
    assert answers == [expected, expected]


def test_start_up_serves_from_memory_when_the_file_cannot_be_written(frame, small_dataset, tmp_path, monkeypatch):
    """A full disk (DuckDB raises its own IOException, not an OSError) must not stop the app
    from starting: one log line, and the engine keeps its tables in memory as without a cache."""
    import duckdb

    from data.settings import get_settings
    from ml.service import analytics_engine_file
    from ml.workspace import AnalyticWorkspace

    def disk_full(*args, **kwargs):
        raise duckdb.IOException("could not write file: No space left on device")

    monkeypatch.setattr(engine_file, "_write", disk_full)
    monkeypatch.setenv("CAREPATH_VAR_DIR", str(tmp_path))
    lines = []
    workspace = AnalyticWorkspace(small_dataset, cache_dir=tmp_path / "cache")
    assert analytics_engine_file(get_settings(), workspace, None, frame, lines.append) is None
    assert len(lines) == 1 and "No space left" in lines[0] and "in memory" in lines[0]
    engine = open_engine("duckdb", frame, small_dataset.pathway, database=None)
    assert_same_numbers(PandasEngine(frame, small_dataset.pathway), engine, CohortFilter())
