"""The engine's tables built once into a DuckDB file that every worker opens read-only.

An in-memory DuckDB per worker copies the cohort table (and the waits, cubes and timings built
from it) into every process, and building it there holds the cohort frame, its engine copy, an
Arrow copy and the table at once: at 10M patients that alone went past 20 GB. Here the file is
written once per served frame (its key: the data, the model's risk tiers, this code), a block
of patients at a time under DuckDB's own memory limit, then renamed into place; a worker maps
its compressed blocks instead of holding a copy, and the operating system shares the pages.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
from filelock import FileLock

from data.pathway import DEFAULT_PATHWAY, Pathway
from data.warehouse.tables import COHORT_ROW, COHORT_TABLE, DERIVED_TABLES, ROWS, as_enums, engine_frame, register_tables

# Patients converted and appended per block while the file is written: the frame's slice, its
# engine copy and their Arrow form are what the build holds beside the served frame.
BLOCK_ROWS = 500_000
# DuckDB's memory while it writes the file (enum casts, derived tables): it spills to disk past it.
BUILD_MEMORY = "2GB"
# What the file records about itself, to recognise a file that is not this frame's.
META_TABLE = "carepath_engine_file"
FORMAT = 1

Log = Callable[[str], None]
_building = threading.Lock()  # one build per process at a time (the file lock serialises processes)


class EngineFileError(RuntimeError):
    """The engine file cannot be used (unreadable, or written for another frame)."""


def build_engine_file(path: Path, frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY,
                      name: str = COHORT_TABLE, log: Log = print, block_rows: int = BLOCK_ROWS) -> Path:
    """Write the engine's tables for ``frame`` to ``path`` unless a usable file is there already.

    Several processes or hosts sharing the folder build it once: the first takes the lock and
    writes, the others wait and then read it. The file appears whole or not at all (written
    beside it, then renamed); a file that cannot be read, or holds another number of patients,
    is replaced with one log line."""
    path = Path(path)
    if _usable(path, len(frame)):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with _building, FileLock(str(path) + ".lock"):
        if _usable(path, len(frame), log):  # another process wrote it while this one waited
            return path
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        _remove(temporary)
        started = time.perf_counter()
        try:
            _write(temporary, frame, pathway, name, block_rows)
            os.replace(temporary, path)
        except _duckdb_error() as error:  # e.g. a full disk: DuckDB's IOException is not an OSError
            raise EngineFileError(f"{path.name} could not be written: {error}") from error
        finally:
            _remove(temporary)
    log(f"analytics engine file written: {path.name} ({len(frame):,} patients, "
        f"{path.stat().st_size / 2**20:,.0f} MiB, {time.perf_counter() - started:.1f} s)")
    return path


def open_engine_file(path: Path, name: str = COHORT_TABLE):
    """(read-only Ibis backend, the tables by data.warehouse.tables name) of a file written by
    build_engine_file. Raises EngineFileError when it cannot be read."""
    import duckdb
    import ibis

    try:
        backend = ibis.duckdb.connect(str(path), read_only=True)
        tables = {ROWS: backend.table(name),
                  **{key: backend.table(f"{name}__{key}") for key in DERIVED_TABLES}}
    except (duckdb.Error, ibis.common.exceptions.IbisError) as error:
        raise EngineFileError(f"{path.name}: {error}") from error
    return backend, tables


def patients_in(path: Path) -> int:
    """How many patients the file was written for (EngineFileError when it cannot be read)."""
    import duckdb

    try:
        with duckdb.connect(str(path), read_only=True) as con:
            rows, version = con.execute(f"SELECT patients, format FROM {META_TABLE}").fetchone()
    except (duckdb.Error, TypeError) as error:  # TypeError: an empty meta table
        raise EngineFileError(f"{path.name}: {error}") from error
    if version != FORMAT:
        raise EngineFileError(f"{path.name}: written in format {version}, this code reads {FORMAT}")
    return int(rows)


def _usable(path: Path, patients: int, log: Log | None = None) -> bool:
    """Whether the file is there and written for ``patients`` patients; ``log``: say why not."""
    if not path.exists():
        return False
    try:
        found = patients_in(path)
        if found == patients:
            return True
        problem = f"it holds {found:,} patients, the served data {patients:,}"
    except EngineFileError as error:
        problem = f"it cannot be read ({error})"
    if log is not None:
        log(f"analytics engine file {path.name}: {problem}; writing it again")
    return False


def _write(path: Path, frame: pd.DataFrame, pathway: Pathway, name: str, block_rows: int) -> None:
    import duckdb
    import ibis

    con = duckdb.connect(str(path))
    try:
        con.execute(f"SET memory_limit = '{BUILD_MEMORY}'")
        text_columns = _append_rows(con, frame, pathway, name, block_rows)
        backend = ibis.duckdb.from_connection(con)
        table = as_enums(backend, name, text_columns)
        register_tables(backend, table, pathway, name)
        con.execute(f"CREATE TABLE {META_TABLE} AS SELECT {len(frame)}::BIGINT AS patients, {FORMAT} AS format")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _append_rows(con, frame: pd.DataFrame, pathway: Pathway, name: str, block_rows: int) -> list[str]:
    """The cohort table, ``block_rows`` patients at a time; returns its text columns.

    Each block gets the types engine_frame gives it; an integer column that has a gap in a
    later block is widened to DOUBLE, so the table ends with the types engine_frame gives the
    whole frame (float wherever any patient lacks a value)."""
    columns: dict[str, pa.DataType] = {}
    for start in range(0, max(len(frame), 1), block_rows):
        part = engine_frame(frame.iloc[start:start + block_rows], pathway)
        part[COHORT_ROW] += start  # positions in the whole frame, not in the block
        block = pa.Table.from_pandas(part, preserve_index=False)  # NaN -> NULL
        del part
        if not columns:
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM block')
            columns = {field.name: field.type for field in block.schema}
        else:
            for field in block.schema:
                if pa.types.is_floating(field.type) and pa.types.is_integer(columns[field.name]):
                    con.execute(f'ALTER TABLE "{name}" ALTER "{field.name}" SET DATA TYPE DOUBLE')
                    columns[field.name] = field.type
            con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM block')
        del block
    return [column for column, kind in columns.items() if pa.types.is_string(kind) or pa.types.is_large_string(kind)]


def _duckdb_error() -> type:
    import duckdb

    return duckdb.Error


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
