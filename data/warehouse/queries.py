"""The Overview and Pathways aggregates as Ibis expressions over the registered cohort table.

Written once against Ibis, they compile to DuckDB, PostgreSQL, Spark SQL and the other
Ibis backends unchanged. The engine only counts rows per group, including how many rows hold
each value of a wait; ratios, medians and quantiles (exact, linearly interpolated like pandas,
read off those value counts), gaps between months and the tables' order are made by
data.cohorts, so integer division, NULL ordering, collation and each engine's quantile
arithmetic never reach a number on screen.

Each page's aggregates are compiled to the engine's SQL once (PreparedQueries) over a
placeholder for the cohort's rows (or cube); a filter change compiles only the filter (about
2 ms, against 7-20 ms for compiling every aggregate again) and runs the prepared text.
"""
from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import sqlglot

from data.cohort_filter import VARIANT_CODE_COLUMN, CohortFilter
from data.cohorts import (DURATION_QUANTILES, NOT_RECORDED_GROUP, OUTCOME_FLAGS, breakdown_from_totals,
                          duration_steps, durations_from_stats, flows_from_terminal_counts, funnel_from_counts,
                          funnel_steps, kpis_from_counts, median_from_counts, outcome_flags_from,
                          quantiles_from_counts, trend_from_month_counts)
from data.journeys import MILESTONE_DAYS
from data.pathway import DEFAULT_PATHWAY, Pathway
from data.warehouse.filters import filtered
from data.warehouse.numbers import BREAKDOWN_BY, HIGH_RISK_TIER, OverviewNumbers, PathwaysNumbers
from data.warehouse.tables import (COMPLETED_MONTH, ENROLLED_MONTH, FUNNEL_REACHED, OVERVIEW_CUBE, OVERVIEW_GROUPS,
                                   PATHWAYS_CUBE, PATHWAYS_GROUPS, ROWS, STEP, VALUE, VARIANT_TIMINGS,
                                   VARIANT_TIMINGS_CUBE, WAITS, WAITS_CUBE, WEIGHT,
                                   on_cube, value_columns)


# Each page asks two grouped counts of the cohort's rows, never a per-row condition or a
# quantile: the engine groups, data.cohorts turns the groups into the page's tables. Each count
# runs on the smallest table that can answer it (data.warehouse.tables: a cube when the cohort
# restricts cube dimensions only, else the cohort table or the waits table filtered). At 1M
# patients (DuckDB, 2 cores, loaded machine) the first version's conditional counts, month
# truncations and QUANTILE_CONT took 100-170 ms of engine time per page.


def _tally(table):
    """Patients per group: rows counted in the cohort or waits table, a cube's counts summed."""
    return table[WEIGHT].sum() if WEIGHT in table.columns else table.count()


def _overview_counts(t, pathway: Pathway):
    """Patients per (status, funnel steps reached, risk tier, enrolment and completion month)."""
    return t.group_by(list(OVERVIEW_GROUPS)).aggregate(n=_tally(t))


def _milestone_counts(t, pathway: Pathway):
    """How many patients waited each number of days for the milestone (the KPI's median)."""
    t = t.filter(t[STEP] == value_columns(pathway).index(MILESTONE_DAYS))
    return t.group_by([VALUE]).aggregate(n=_tally(t))


def _pathways_counts(t, pathway: Pathway):
    """Patients per terminal (status, stage), site and payer: the Sankey and the breakdowns' counts."""
    return t.group_by(list(PATHWAYS_GROUPS)).aggregate(n=_tally(t))


def _value_counts(t, pathway: Pathway):
    """Every wait's distribution: patients per (wait, value)."""
    return t.group_by([STEP, VALUE]).aggregate(n=_tally(t))


def _milestone_by_group(t, pathway: Pathway):
    """The milestone wait's distribution per site and payer (the breakdowns' medians). Apart from
    the other waits': grouping those by site and payer too, or only this one with a CASE, cost
    2-3 times as much at 1M patients."""
    t = t.filter(t[STEP] == value_columns(pathway).index(MILESTONE_DAYS))
    return t.group_by([VALUE, *BREAKDOWN_BY]).aggregate(n=_tally(t))


def _counts(frame: pd.DataFrame) -> np.ndarray:
    """The ``n`` column as int64 (PostgreSQL sums counts as NUMERIC, Spark's SUM over no rows is NULL)."""
    if not len(frame):
        return np.zeros(0, dtype="int64")
    return pd.to_numeric(frame["n"]).fillna(0).to_numpy().astype("int64")


def _month_counts(months: pd.Series, counts: np.ndarray) -> pd.Series:
    present = months.notna().to_numpy()
    if not present.any():
        return pd.Series([], dtype="int64", index=pd.PeriodIndex([], freq="M"))
    index = pd.PeriodIndex(pd.to_datetime(months[present]), freq="M")
    return pd.Series(counts[present], index=index).groupby(level=0).sum()


def overview_from(results: dict, pathway: Pathway) -> OverviewNumbers:
    groups = results["counts"]
    n = _counts(groups)
    reached = groups[FUNNEL_REACHED].to_numpy(dtype="float64") if len(groups) else np.zeros(0)
    flags = outcome_flags_from(groups["status"].astype(object), groups["status_stage"].astype(object),
                               pd.Series(reached >= 1, index=groups.index), pathway)
    steps = funnel_steps(pathway)
    milestone = results["milestone"]
    return OverviewNumbers(
        kpis=kpis_from_counts(int(n.sum()), {name: int(n[flags[name].to_numpy(dtype=bool)].sum())
                                             for name in OUTCOME_FLAGS},
                              median_from_counts(milestone["value"], _counts(milestone))),
        funnel=funnel_from_counts([int(n[reached >= k].sum()) for k in range(len(steps))], pathway),
        trend=trend_from_month_counts(_month_counts(groups[ENROLLED_MONTH], n),
                                      _month_counts(groups[COMPLETED_MONTH], n)),
        high_risk=int(n[(groups["risk_tier"].astype(object) == HIGH_RISK_TIER).to_numpy(dtype=bool)].sum()),
        milestone_n=int(_counts(milestone).sum()))


def _groups(column: pd.Series) -> pd.Series:
    # Patients without a recorded value form their own group, as in data.cohorts.breakdown.
    column = column.astype(object)
    return column.where(column.notna(), NOT_RECORDED_GROUP).astype(str)


def _breakdown_from(groups: pd.DataFrame, n: np.ndarray, flags: pd.DataFrame, milestone: pd.DataFrame,
                    by: str) -> pd.DataFrame:
    counts = {name: np.where(flags[name].to_numpy(dtype=bool), n, 0) for name in ("completed", "dropped_out",
                                                                                 "in_progress")}
    totals = pd.DataFrame({"patients": n, **counts}, index=_groups(groups[by]).to_numpy()).groupby(level=0).sum()
    wait_groups, waits, values = _groups(milestone[by]).to_numpy(), _counts(milestone), milestone["value"].to_numpy()
    medians = {group: median_from_counts(values[wait_groups == group], waits[wait_groups == group])
               for group in set(wait_groups)}
    totals["median_days_to_milestone"] = [medians.get(group, float("nan")) for group in totals.index]
    totals.index = totals.index.astype(object)
    # data.cohorts orders the table; the engine's group order (its collation) plays no part.
    return breakdown_from_totals(totals)


def pathways_from(results: dict, pathway: Pathway) -> PathwaysNumbers:
    groups = results["counts"]
    n = _counts(groups)
    status, stage = groups["status"].astype(object), groups["status_stage"].astype(object)
    ended = (status.notna() & stage.notna()).to_numpy()
    terminal = pd.Series(n[ended], index=pd.MultiIndex.from_arrays([status[ended], stage[ended]]))
    terminal = terminal.groupby(level=[0, 1]).sum()
    values = results["values"]
    steps, counts, days = values[STEP].to_numpy().astype("int64"), _counts(values), values[VALUE].to_numpy()
    columns = value_columns(pathway)
    stats = {}
    for column, _, _ in duration_steps(pathway):
        step = steps == columns.index(column)
        stats[column] = (int(counts[step].sum()), quantiles_from_counts(days[step], counts[step],
                                                                         list(DURATION_QUANTILES.values())))
    milestone = results["milestone"]
    flags = outcome_flags_from(status, stage, pd.Series(False, index=groups.index), pathway)
    return PathwaysNumbers(
        patients=int(n.sum()), flows=flows_from_terminal_counts(terminal, pathway),
        durations=durations_from_stats(stats, pathway),
        breakdowns={by: _breakdown_from(groups, n, flags, milestone, by) for by in BREAKDOWN_BY})


def _variant_counts(t, pathway: Pathway):
    """Patients per journey variant and status."""
    return t.group_by([VARIANT_CODE_COLUMN, "status"]).aggregate(n=_tally(t))


def _variant_timing_counts(t, pathway: Pathway):
    """Patients per journey variant, timing (data.analytics.variants.timing_columns) and value."""
    return t.group_by([VARIANT_CODE_COLUMN, STEP, VALUE]).aggregate(n=_tally(t))


def variants_counts_from(results: dict, pathway: Pathway) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(patients per variant and status, per variant, timing and value) as
    data.analytics.variants.variants_from_counts reads them."""
    return (results["counts"].rename(columns={VARIANT_CODE_COLUMN: "variant"}),
            results["timings"].rename(columns={VARIANT_CODE_COLUMN: "variant", STEP: "measure"}))


PAGES = {
    "overview": ({"counts": (ROWS, OVERVIEW_CUBE, _overview_counts),
                  "milestone": (WAITS, WAITS_CUBE, _milestone_counts)}, overview_from),
    "pathways": ({"counts": (ROWS, PATHWAYS_CUBE, _pathways_counts),
                  "values": (WAITS, WAITS_CUBE, _value_counts),
                  "milestone": (WAITS, WAITS_CUBE, _milestone_by_group)}, pathways_from),
    "variants": ({"counts": (ROWS, PATHWAYS_CUBE, _variant_counts),
                  "timings": (VARIANT_TIMINGS, VARIANT_TIMINGS_CUBE, _variant_timing_counts)}, variants_counts_from),
}


def _base(queries_of_page: dict, name: str, cube: bool) -> str:
    rows, cube_table, _ = queries_of_page[name]
    return cube_table if cube else rows


def page_numbers(tables: dict, cohort: CohortFilter, page: str, pathway: Pathway = DEFAULT_PATHWAY,
                 cube: bool | None = None):
    """A page's numbers by executing the Ibis expressions directly (compiled on every call).
    ``tables``: data.warehouse.tables.register_tables; ``cube``: None to choose as the engine does."""
    queries, assemble = PAGES[page]
    cube = on_cube(cohort) if cube is None else cube
    results = {}
    for name, (_, _, build) in queries.items():
        table = tables[_base(queries, name, cube)]
        results[name] = build(filtered(table, cohort, pathway), pathway).execute()
    return assemble(results, pathway)


PLACEHOLDER = "carepath_cohort_rows"  # the name the prepared queries read the cohort's rows (or cube) from


class PreparedQueries:
    """Every page's aggregates compiled once to the backend's SQL, over the cohort's rows and over
    its cube; per call, the cohort filter is compiled for the table the query reads and put in
    front as a common table expression of the placeholder's name."""

    KEPT_SOURCES = 64

    def __init__(self, backend, tables: dict, pathway: Pathway = DEFAULT_PATHWAY):
        self.backend, self.tables, self.pathway = backend, tables, pathway
        self._sources: dict = {}  # (cohort, table) -> its SELECT, oldest first
        self.dialect = backend.name
        self.sql = {}
        for page, (queries, _) in PAGES.items():
            for name, (rows, cube, build) in queries.items():
                for base in (rows, cube):
                    placeholder = ibis.table(tables[base].schema(), name=PLACEHOLDER)
                    self.sql[page, name, base] = ibis.to_sql(build(placeholder, pathway), dialect=self.dialect)
        self._rows = sqlglot.exp.to_identifier(PLACEHOLDER, quoted=True).sql(dialect=self._sqlglot_dialect())

    def _sqlglot_dialect(self) -> str:
        return {"pyspark": "spark", "postgres": "postgres"}.get(self.dialect, self.dialect)

    def source(self, cohort: CohortFilter, base: str = ROWS) -> str:
        """The cohort's rows of table ``base`` as a SELECT in the backend's SQL (the last few kept:
        the Overview and Pathways callbacks of one filter change ask for the same cohort)."""
        key = (cohort, base)
        source = self._sources.pop(key, None)
        if source is None:
            source = ibis.to_sql(filtered(self.tables[base], cohort, self.pathway), dialect=self.dialect)
        self._sources[key] = source
        while len(self._sources) > self.KEPT_SOURCES:
            self._sources.pop(next(iter(self._sources)))
        return source

    def statement(self, page: str, name: str, cohort: CohortFilter, cube: bool | None = None) -> str:
        queries, _ = PAGES[page]
        base = _base(queries, name, on_cube(cohort) if cube is None else cube)
        query, source = self.sql[page, name, base].strip(), self.source(cohort, base)
        if query[:5].upper() == "WITH ":  # the aggregate has common table expressions of its own
            return f"WITH {self._rows} AS ({source}), {query[5:]}"
        return f"WITH {self._rows} AS ({source}) {query}"

    def numbers(self, page: str, cohort: CohortFilter, cube: bool | None = None):
        """The page's numbers; from the cubes when the cohort allows (``cube``: force either way)."""
        queries, assemble = PAGES[page]
        return assemble({name: fetch(self.backend, self.statement(page, name, cohort, cube)) for name in queries},
                        self.pathway)


def fetch(backend, sql: str) -> pd.DataFrame:
    """Run SQL text on an Ibis backend and return its rows as a DataFrame."""
    result = backend.raw_sql(sql)
    if hasattr(result, "toPandas"):  # Spark answers with a DataFrame of its own
        return result.toPandas()
    try:
        columns = [column[0] for column in result.description]
        # Plain Python values, not pandas' Arrow-backed text: the few hundred rows are read
        # element by element, which Arrow-backed columns make 2-3 times slower.
        return pd.DataFrame(result.fetchall(), columns=columns, dtype=object)
    finally:
        if hasattr(result, "close") and result is not getattr(backend, "con", None):
            result.close()
