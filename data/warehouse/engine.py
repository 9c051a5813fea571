"""The analytics engine the pages ask for cohort numbers, chosen by one setting
(CAREPATH_ANALYTICS_ENGINE, data.settings): "duckdb" (default: the cohort frame in an
in-process DuckDB: a file written once and opened read-only by every worker when the app has
a cache folder, data.warehouse.engine_file; else in memory), "pandas" (the reference code in data.cohorts), or a connection URL of
any Ibis backend (e.g. postgres://user@host/db, the population kept in the warehouse).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from data.analytics.variants import journey_variants, variants_from_counts
from data.cohort_filter import CohortFilter, apply_cohort, cohort_mask
from data.pathway import DEFAULT_PATHWAY, Pathway
from data.warehouse import numbers
from data.warehouse.engine_file import build_engine_file, open_engine_file
from data.warehouse.filters import filtered
from data.warehouse.tables import COHORT_ROW, COHORT_TABLE, FILTER_COLUMNS, ROWS, register_frame, register_tables, register_worklist
from data.warehouse.worklist import SCORE_ROW, active_positions, ranking_query, worklist_frame

DUCKDB, PANDAS = "duckdb", "pandas"


class PandasEngine:
    """The reference: filter the cohort frame in pandas, aggregate with data.cohorts."""

    name = PANDAS

    def __init__(self, frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY):
        self.frame, self.pathway = frame, pathway

    def overview(self, cohort: CohortFilter) -> numbers.OverviewNumbers:
        return numbers.overview_numbers(apply_cohort(self.frame, cohort, self.pathway), self.pathway)

    def pathways(self, cohort: CohortFilter) -> numbers.PathwaysNumbers:
        return numbers.pathways_numbers(apply_cohort(self.frame, cohort, self.pathway), self.pathway)

    def cohort_rows(self, cohort: CohortFilter) -> np.ndarray:
        """Positions in the cohort frame of the cohort's patients, ascending."""
        return np.flatnonzero(cohort_mask(self.frame, cohort, self.pathway))

    def variants(self, cohort: CohortFilter, top: int) -> pd.DataFrame:
        """The cohort's ``top`` journey variants (data.analytics.variants.journey_variants)."""
        return journey_variants(apply_cohort(self.frame, cohort, self.pathway), self.pathway, top)

    def worklist(self, scores: pd.DataFrame, cohort: CohortFilter, sort: str,
                 sites: tuple[str, ...] | None) -> np.ndarray:
        """Positions in ``scores`` of the cohort's active patients at ``sites``, ranked (data.warehouse.worklist)."""
        return active_positions(self.frame, scores, cohort, sort, sites, self.pathway)


class IbisEngine:
    """The same numbers from columnar queries (data.warehouse.queries) on an Ibis backend.

    The connection is opened on first use in each process, never inherited across a fork
    (gunicorn --preload forks after start-up; a DuckDB or database connection must not cross
    it). Queries on one connection are serialised: an Ibis backend is not thread-safe.
    """

    def __init__(self, connect, frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY,
                 table_name: str = COHORT_TABLE, name: str = DUCKDB, shared: bool = False,
                 database: Path | None = None, log: Callable[[str], None] = print):
        self._connect, self.frame, self.pathway = connect, frame, pathway
        self.table_name, self.name = table_name, name
        # shared: the table lives in a database other processes and hosts use too; it is
        # created once (its name carries the data fingerprint) and then only read.
        self.shared = shared
        # database: a DuckDB file of this frame's tables (data.warehouse.engine_file), written
        # once and opened read-only by every process, instead of an in-memory copy in each.
        self.database, self.log = (None if database is None else Path(database)), log
        self._lock = threading.Lock()
        self._pid, self._backend, self._tables, self._prepared = None, None, None, None
        self._worklist = None  # (scores frame, the tables it was registered beside, its table)
        self._reference = None  # (pid, PandasEngine) in a forked process (_forked)

    def _forked(self) -> PandasEngine | None:
        """The pandas reference, in a process forked after this engine opened its in-process
        DuckDB (a background job forked from a worker, e.g. the Worklist export): DuckDB's
        threads and locks do not survive a fork, and a query there hung the export job in about
        half the runs. The reference gives the same numbers (the parity tests). None elsewhere."""
        if self.shared or self._pid is None or self._pid == os.getpid():
            return None
        if self._reference is None or self._reference[0] != os.getpid():
            self._reference = (os.getpid(), PandasEngine(self.frame, self.pathway))
        return self._reference[1]

    def _cohort_tables(self) -> dict:
        """The cohort table and the tables derived from it (data.warehouse.tables.register_tables)."""
        if self._pid != os.getpid():
            if self.database is not None:
                # Start-up wrote it; written here only if it went missing or unreadable since.
                build_engine_file(self.database, self.frame, self.pathway, self.table_name, self.log)
                backend, tables = open_engine_file(self.database, self.table_name)
                self._pid, self._backend, self._tables = os.getpid(), backend, tables
                return tables
            backend = self._connect()
            if not self.shared:
                table = register_frame(backend, self.frame, self.pathway, self.table_name)
            else:
                table = self._shared_table(backend)
            tables = register_tables(backend, table, self.pathway, self.table_name, self.shared)
            self._pid, self._backend, self._tables = os.getpid(), backend, tables
        return self._tables

    def _shared_table(self, backend):
        if self.table_name not in backend.list_tables():
            try:
                register_frame(backend, self.frame, self.pathway, self.table_name, overwrite=False)
            except Exception:
                # Another host or worker created it meanwhile; reading it below says if not.
                if self.table_name not in backend.list_tables():
                    raise
        return backend.table(self.table_name)

    def _numbers(self, page: str, cohort: CohortFilter, cube: bool | None = None):
        from data.warehouse.queries import PreparedQueries

        with self._lock:
            tables = self._cohort_tables()
            if self._prepared is None or self._prepared.tables is not tables:
                self._prepared = PreparedQueries(self._backend, tables, self.pathway)
            return self._prepared.numbers(page, cohort, cube)

    def overview(self, cohort: CohortFilter, cube: bool | None = None) -> numbers.OverviewNumbers:
        """``cube``: None answers from the cubes when the cohort allows; True/False forces it (tests)."""
        reference = self._forked()
        return self._numbers("overview", cohort, cube) if reference is None else reference.overview(cohort)

    def pathways(self, cohort: CohortFilter, cube: bool | None = None) -> numbers.PathwaysNumbers:
        reference = self._forked()
        return self._numbers("pathways", cohort, cube) if reference is None else reference.pathways(cohort)

    def cohort_rows(self, cohort: CohortFilter) -> np.ndarray:
        """PandasEngine.cohort_rows from the cohort table's row positions (30-60 ms less than
        the pandas mask at 1M patients). A shared database's table may have been registered
        by another host, whose positions need not be this frame's: there, pandas answers."""
        if self.shared or self._forked() is not None:
            return np.flatnonzero(cohort_mask(self.frame, cohort, self.pathway))
        import ibis

        with self._lock:
            rows = filtered(self._cohort_tables()[ROWS], cohort, self.pathway).select(COHORT_ROW)
            result = self._backend.raw_sql(ibis.to_sql(rows, dialect=self._backend.name))
            try:
                positions = result.fetchnumpy()[COHORT_ROW] if hasattr(result, "fetchnumpy") else \
                    np.array([row[0] for row in result.fetchall()], dtype="int64")
            finally:
                if hasattr(result, "close") and result is not getattr(self._backend, "con", None):
                    result.close()
        in_cohort = np.zeros(len(self.frame), dtype=bool)  # ascending, whatever order the scan returned
        in_cohort[np.asarray(positions, dtype="int64")] = True
        return np.flatnonzero(in_cohort)

    def variants(self, cohort: CohortFilter, top: int, cube: bool | None = None) -> pd.DataFrame:
        """PandasEngine.variants from the engine's counts per variant (data.analytics.variants.variants_from_counts)."""
        reference = self._forked()
        if reference is not None:
            return reference.variants(cohort, top)
        status_counts, timing_counts = self._numbers("variants", cohort, cube)
        patients = int(pd.to_numeric(status_counts["n"]).sum()) if len(status_counts) else 0
        return variants_from_counts(status_counts, timing_counts, patients, self.pathway, top)

    def worklist(self, scores: pd.DataFrame, cohort: CohortFilter, sort: str,
                 sites: tuple[str, ...] | None) -> np.ndarray:
        """PandasEngine.worklist as one query over the scored patients' table, registered in the
        engine on first use for each scores frame (a new model brings new scores)."""
        reference = self._forked()
        if reference is not None:
            return reference.worklist(scores, cohort, sort, sites)
        import ibis

        from data.warehouse.queries import fetch

        with self._lock:
            tables = self._cohort_tables()
            if self._worklist is None or self._worklist[0] is not scores or self._worklist[1] is not tables:
                frame = worklist_frame(self.frame, scores, FILTER_COLUMNS)
                table = register_worklist(self._backend, frame, f"{self.table_name}__worklist",
                                          temp=self.shared or self.database is not None)
                self._worklist = (scores, tables, table)
            query = ranking_query(self._worklist[2], cohort, sort, sites, self.pathway)
            rows = fetch(self._backend, ibis.to_sql(query, dialect=self._backend.name))
        return rows[SCORE_ROW].to_numpy(dtype="int64")


def open_engine(setting: str, frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY,
                fingerprint: str = "", database: Path | None = None,
                log: Callable[[str], None] = print) -> PandasEngine | IbisEngine:
    """The engine named by ``setting`` over the cohort frame (with its variant codes).
    ``database``: for DuckDB, the file its tables are written to once and read from by every
    process (data.warehouse.engine_file); without one, each process holds its own in memory."""
    setting = (setting or DUCKDB).strip()
    if setting == PANDAS:
        return PandasEngine(frame, pathway)
    import ibis

    if setting == DUCKDB:
        return IbisEngine(lambda: ibis.duckdb.connect(), frame, pathway, database=database, log=log)
    if "://" in setting:
        table = f"{COHORT_TABLE}_{fingerprint}" if fingerprint else COHORT_TABLE
        url = ibis_url(setting)
        return IbisEngine(lambda: ibis.connect(url), frame, pathway, table, name=url.split("://", 1)[0], shared=True)
    raise ValueError(f"CAREPATH_ANALYTICS_ENGINE: expected {DUCKDB!r}, {PANDAS!r} or a connection URL "
                     f"(e.g. postgres://user@host/db), got {setting!r}")


def ibis_url(url: str) -> str:
    """A SQLAlchemy-style URL (postgresql+psycopg://..., as CAREPATH_DATABASE_URL takes) in the
    form ibis.connect reads (postgres://...); other URLs pass unchanged."""
    scheme, rest = url.split("://", 1)
    scheme = scheme.split("+", 1)[0]
    return f"{'postgres' if scheme in ('postgres', 'postgresql') else scheme}://{rest}"
