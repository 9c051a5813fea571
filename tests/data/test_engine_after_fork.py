"""A background job forked from a worker that had opened its in-process DuckDB (the Worklist
export) must not query that DuckDB: its threads and locks do not survive a fork and the export
job hung in about half the runs. There the pandas reference answers, with the same numbers."""
from __future__ import annotations

import os

import pandas as pd

from data.cohort_filter import CohortFilter
from data.warehouse import engine as engine_module
from tests.data.test_warehouse_parity import parity_frame


def test_a_forked_process_answers_with_the_reference_not_the_inherited_duckdb(small_dataset, monkeypatch):
    frame = parity_frame(small_dataset)
    duckdb = engine_module.open_engine("duckdb", frame, small_dataset.pathway)
    reference = engine_module.PandasEngine(frame, small_dataset.pathway)
    cohort = CohortFilter()
    duckdb.overview(cohort)  # opens DuckDB in this process
    child = os.getpid() + 1
    monkeypatch.setattr(engine_module.os, "getpid", lambda: child)  # as in a forked child

    def inherited(*args, **kwargs):
        raise AssertionError("queried the DuckDB connection inherited across a fork")

    monkeypatch.setattr(duckdb, "_cohort_tables", inherited)
    assert repr(duckdb.overview(cohort)) == repr(reference.overview(cohort))
    assert repr(duckdb.pathways(cohort)) == repr(reference.pathways(cohort))
    assert (duckdb.cohort_rows(cohort) == reference.cohort_rows(cohort)).all()
    pd.testing.assert_frame_equal(duckdb.variants(cohort, 5), reference.variants(cohort, 5))
