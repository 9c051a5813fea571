"""Registering the per-patient cohort frame in an engine, from a DataFrame or from Parquet, and
the tables derived from it there once (the waits in long form, pre-aggregated cubes)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from data.analytics.variants import timing_columns, variant_timings
from data.cohort_filter import CHOICE_FIELDS, VARIANT_CODE_COLUMN, CohortFilter
from data.cohorts import completion_month, duration_steps, funnel_reached
from data.journeys import MILESTONE_DAYS, duration_columns
from data.pathway import DEFAULT_PATHWAY, Pathway
from data.warehouse.numbers import BREAKDOWN_BY

# The table's layout version is in its name: a warehouse table written by older code (without
# the derived columns below) is never read as if it had them.
COHORT_TABLE = "carepath_cohort_v2"
# Derived once when the table is registered, so a filter change groups by them instead of
# evaluating the funnel's chained predicates and the months' truncations on every row again.
FUNNEL_REACHED = "funnel_reached"  # data.cohorts.funnel_reached
ENROLLED_MONTH = "enrolled_month"  # first day of the enrolment month
COMPLETED_MONTH = "completed_month"  # data.cohorts.completion_month (NULL unless completed)
DERIVED_COLUMNS = (FUNNEL_REACHED, ENROLLED_MONTH, COMPLETED_MONTH)
# The patient's row in the frame that registered the table, for the pages that need the cohort's
# patients rather than counts (Journeys, Quality): a position in this process's frame, not an
# identifier, so only an engine of this process's own (not a shared database) answers with it.
COHORT_ROW = "cohort_row"
# Patient attributes the filter and the breakdowns read (callbacks.context.PATIENT_ATTRIBUTES).
ATTRIBUTE_COLUMNS = ("age", "sex", "race_ethnicity", "payer", "region", "site")


def engine_columns(pathway: Pathway = DEFAULT_PATHWAY) -> tuple[str, ...]:
    """The cohort-frame columns the queries read: no identifiers, dates of birth or free text,
    so a warehouse copy of the population holds aggregates' inputs only."""
    stages = pathway.stage_names
    results = tuple(f"{stage.name}_result" for stage in pathway.stages if stage.ends or stage.leads_on)
    return ("program", "enrollment_date", *(f"{s}_date" for s in stages), *results, "status", "status_stage",
            *duration_columns(pathway), MILESTONE_DAYS, *ATTRIBUTE_COLUMNS, "risk_tier", VARIANT_CODE_COLUMN,
            *DERIVED_COLUMNS, *timing_columns(pathway), COHORT_ROW)


def engine_frame(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """The cohort frame as the engine stores it: the columns the queries read, text columns as
    strings (a column of None only, e.g. risk tiers before a model exists, would otherwise reach
    the engine without a type), durations as float64, dates as timestamps."""
    timings = variant_timings(frame, pathway)
    if VARIANT_CODE_COLUMN not in frame.columns:  # the app's frame carries them; a bare journeys frame may not
        frame = frame.assign(**{VARIANT_CODE_COLUMN: timings["variant"]})
    frame = frame.assign(**{column: timings[column] for column in timing_columns(pathway)})
    frame = frame.assign(**{COHORT_ROW: np.arange(len(frame), dtype="int64"),
                            FUNNEL_REACHED: funnel_reached(frame, pathway),
                            ENROLLED_MONTH: pd.to_datetime(frame["enrollment_date"]).dt.to_period("M").dt.to_timestamp(),
                            COMPLETED_MONTH: completion_month(frame, pathway)})
    columns = [c for c in dict.fromkeys(engine_columns(pathway)) if c in frame.columns]
    return engine_types(frame[columns])


def engine_types(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with the column types the engine stores (see engine_frame)."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if column.endswith("_date") or column in (ENROLLED_MONTH, COMPLETED_MONTH) \
                or pd.api.types.is_datetime64_any_dtype(series):
            out[column] = pd.to_datetime(series)
        elif column in (VARIANT_CODE_COLUMN, "age", FUNNEL_REACHED, COHORT_ROW) or pd.api.types.is_integer_dtype(series):
            out[column] = series.astype("float64") if series.isna().any() else series.astype("int64")
        elif pd.api.types.is_numeric_dtype(series):
            out[column] = series.astype("float64")
        else:
            out[column] = series.astype("string[pyarrow]")
    return out.reset_index(drop=True)


# --- Tables derived in the engine at registration -----------------------------------------------
# A filter change scans what the page needs, not the whole cohort table each time:
# - "waits": the waits in long form, one row per patient and wait that has a value (0.94M rows at
#   1M patients, against 5 full scans of the cohort table to count each wait's values);
# - cubes: patients counted by every column a choice filter, a journey variant or a Sankey node
#   restricts (CUBE_DIMS) and by what a page groups by. A cohort restricting nothing else (no age,
#   no enrolment dates) is answered from a cube: at 1M patients the Overview's 194k groups, the
#   Pathways page's 11k, the waits' value counts ~0.3M, each sum exact.

ROWS, WAITS = "rows", "waits"  # the cohort table itself, the waits in long form
OVERVIEW_CUBE, PATHWAYS_CUBE, WAITS_CUBE = "overview_cube", "pathways_cube", "waits_cube"
# The journey variants' timings in long form (data.analytics.variants.timing_columns), and their cube.
VARIANT_TIMINGS, VARIANT_TIMINGS_CUBE = "variant_timings", "variant_timings_cube"
STEP, VALUE, WEIGHT = "step", "value", "n"  # long forms: which column, its value; cubes: patients per group
OVERVIEW_GROUPS = ("status", "status_stage", FUNNEL_REACHED, "risk_tier", ENROLLED_MONTH, COMPLETED_MONTH)
PATHWAYS_GROUPS = ("status", "status_stage", *BREAKDOWN_BY)
CUBE_DIMS = (*(f.column for f in CHOICE_FIELDS if f.column), VARIANT_CODE_COLUMN, "status", "status_stage")
FILTER_COLUMNS = (*CUBE_DIMS, "age", "enrollment_date")  # every column data.warehouse.filters restricts


def value_columns(pathway: Pathway = DEFAULT_PATHWAY) -> tuple[str, ...]:
    """The waits whose distribution the pages show (the milestone wait always: its medians are
    the Overview KPI's and the breakdowns'); their position is the waits table's STEP."""
    return tuple(dict.fromkeys([*(column for column, _, _ in duration_steps(pathway)), MILESTONE_DAYS]))


def on_cube(cohort: CohortFilter) -> bool:
    """Whether the cubes can answer for ``cohort``: it restricts cube dimensions only."""
    return cohort.age_min is None and cohort.age_max is None and not cohort.enrolled_from and not cohort.enrolled_to


def _waits(rows, pathway: Pathway):
    return _long_form(rows, value_columns(pathway))


def _long_form(rows, columns: tuple[str, ...]):
    """One row per patient and column of ``columns`` that has a value: the filter's columns, STEP
    (the column's position in ``columns``) and VALUE."""
    import ibis

    keep = [c for c in dict.fromkeys((*FILTER_COLUMNS, *BREAKDOWN_BY)) if c in rows.columns]
    parts = [rows.filter(rows[column].notnull()).select(
        *keep, **{STEP: ibis.literal(i, "int64"), VALUE: rows[column].cast("float64")})
        for i, column in enumerate(columns)]
    # Stored in step order: a query on one wait (the milestone's) then skips the others' row groups.
    return (ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]).order_by(STEP)


def _cube(table, groups: tuple[str, ...]):
    keys = [c for c in dict.fromkeys((*CUBE_DIMS, *groups)) if c in table.columns]
    return table.group_by(keys).aggregate(**{WEIGHT: table.count()})


# name -> (the table it is built from, how)
DERIVED_TABLES = {
    WAITS: (ROWS, _waits),
    OVERVIEW_CUBE: (ROWS, lambda table, pathway: _cube(table, OVERVIEW_GROUPS)),
    PATHWAYS_CUBE: (ROWS, lambda table, pathway: _cube(table, PATHWAYS_GROUPS)),
    WAITS_CUBE: (WAITS, lambda table, pathway: _cube(table, (STEP, VALUE))),
    VARIANT_TIMINGS: (ROWS, lambda table, pathway: _long_form(table, timing_columns(pathway))),
    VARIANT_TIMINGS_CUBE: (VARIANT_TIMINGS, lambda table, pathway: _cube(table, (STEP, VALUE))),
}


def register_tables(backend, rows, pathway: Pathway = DEFAULT_PATHWAY, name: str = COHORT_TABLE,
                    shared: bool = False) -> dict:
    """The cohort table (``rows``, registered) and the DERIVED_TABLES built from it in the
    engine, as Ibis tables by DERIVED_TABLES name. ``shared``: in a database other hosts use
    too, a table that exists (its name carries the data fingerprint) is read, not rebuilt."""
    tables = {ROWS: rows}
    for key, (source, build) in DERIVED_TABLES.items():
        table_name = f"{name}__{key}"
        expression = build(tables[source], pathway)
        if backend.name == "pyspark":  # a session's views, as the cohort table is (register_frame)
            tables[key] = backend.create_view(table_name, expression, overwrite=True)
        elif not shared:
            tables[key] = backend.create_table(table_name, expression, overwrite=True)
        else:
            if table_name not in backend.list_tables():
                try:
                    backend.create_table(table_name, expression, overwrite=False)
                except Exception:
                    # Another host or worker created it meanwhile; reading it below says if not.
                    if table_name not in backend.list_tables():
                        raise
            tables[key] = backend.table(table_name)
    return tables


def register_frame(backend, frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY,
                   name: str = COHORT_TABLE, overwrite: bool = True):
    """Copy the cohort frame into the engine as a table; returns the Ibis table. Handed over
    as Arrow: Ibis converts a DataFrame column by column (1.4 s at 50,000 patients, 0.15 s as Arrow)."""
    return _create(backend, name, engine_frame(frame, pathway), overwrite)


def register_worklist(backend, frame: pd.DataFrame, name: str, temp: bool = False):
    """The scored patients' table (data.warehouse.worklist.worklist_frame) in the engine. In a
    shared database or a read-only file (``temp``) it is a temporary table of this connection:
    patient-level rows, rebuilt with every model, are not the population table's to share."""
    return _create(backend, name, engine_types(frame), overwrite=True, temp=temp)


def _create(backend, name: str, frame: pd.DataFrame, overwrite: bool, temp: bool = False):
    columns = pa.Table.from_pandas(frame, preserve_index=False)  # NaN -> NULL
    if backend.name == "pyspark":
        # Ibis hands Spark a pandas frame, and Spark keeps NaN as a value, not as NULL: every wait
        # would be counted and its percentiles would be NaN. Spark takes the Arrow table (with its
        # NULLs) directly; the table is a view of this session, as a cluster job's input would be.
        backend._session.createDataFrame(columns).createOrReplaceTempView(name)
        return backend.table(name)
    table = backend.create_table(name, columns, overwrite=overwrite, **({"temp": True} if temp else {}))
    if backend.name == "duckdb" and not temp:  # a read-only file's connection cannot create types
        table = as_enums(backend, name, [f.name for f in columns.schema if pa.types.is_string(f.type)
                                          or pa.types.is_large_string(f.type)])
    return table


# A text column with at most this many values is stored as a DuckDB ENUM (see as_enums).
MAX_ENUM_VALUES = 1000


def as_enums(backend, name: str, text_columns: list[str]):
    """Store DuckDB's low-cardinality text columns (program, site, status, ...) as ENUMs.

    An in-memory DuckDB does not compress, so every filter compares whole strings: a program
    and payer filter over 1M patients scanned in 104 ms as VARCHAR, 18-22 ms as ENUM (measured
    once each on the loaded 2-core machine). The queries do not change: an ENUM compares with a
    text literal and reads back as text. The values come from the table itself, never quoted by hand.
    """
    con = backend.con
    table = f'"{name}"'
    casts = []
    for column in text_columns:
        values = con.execute(f'SELECT count(DISTINCT "{column}") FROM {table}').fetchall()[0][0]
        if 0 < values <= MAX_ENUM_VALUES:
            enum = f'"{name}__{column}"'
            con.execute(f"DROP TYPE IF EXISTS {enum}")
            con.execute(f'CREATE TYPE {enum} AS ENUM (SELECT DISTINCT "{column}" FROM {table} '
                        f'WHERE "{column}" IS NOT NULL ORDER BY 1)')
            casts.append(f'CAST("{column}" AS {enum}) AS "{column}"')
    if casts:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * REPLACE ({', '.join(casts)}) FROM {table}")
    return backend.table(name)


def register_parquet(backend, path: str | Path, name: str = COHORT_TABLE):
    """Load a cohort frame written as Parquet (engine_frame(...).to_parquet) into the engine
    as a table: a native table answers filter changes faster than re-scanning the file."""
    return backend.create_table(name, backend.read_parquet(str(path)), overwrite=True)
