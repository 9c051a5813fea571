"""The Overview and Pathways aggregates as Ibis expressions over the registered cohort table.

Written once against Ibis, they compile to DuckDB, PostgreSQL, Spark SQL and the other
Ibis backends unchanged. The engine only counts and takes medians and quantiles (exact,
linearly interpolated like pandas); ratios, gaps between months and the tables' order are
made by data.cohorts from those counts, so integer division, NULL ordering and collation,
which differ between engines, never reach a number on screen.

Each page's aggregates are compiled to the engine's SQL once (PreparedQueries) over a
placeholder for the cohort's rows; a filter change compiles only the filter (about 2 ms,
against 7-20 ms for compiling every aggregate again) and runs the prepared text.
"""
from __future__ import annotations

import ibis
import pandas as pd
import sqlglot

from data.cohort_filter import CohortFilter
from data.cohorts import (COMPLETED, DROPPED_OUT, DURATION_QUANTILES, EXITED, IN_PROGRESS, NOT_RECORDED_GROUP,
                          OUTCOME_FLAGS, breakdown_from_totals, duration_steps, durations_from_stats,
                          flows_from_terminal_counts, funnel_from_counts, funnel_steps, kpis_from_counts,
                          trend_from_month_counts)
from data.journeys import MILESTONE_DAYS
from data.pathway import DEFAULT_PATHWAY, Pathway
from data.warehouse.filters import filtered
from data.warehouse.numbers import BREAKDOWN_BY, HIGH_RISK_TIER, OverviewNumbers, PathwaysNumbers


def outcome_predicates(t, pathway: Pathway) -> dict:
    """data.cohorts._outcome_flags as predicates (same names, same definitions)."""
    first = pathway.first_stage
    return {
        "screened": t[f"{first}_date"].notnull(),
        "not_screened": (t.status == DROPPED_OUT) & (t.status_stage == first),
        "completed": t.status == COMPLETED,
        "dropped_out": (t.status == DROPPED_OUT) & t.status_stage.isin(list(pathway.decision_stages)),
        "exited": t.status == EXITED,
        "in_progress": t.status == IN_PROGRESS,
    }


def funnel_predicates(t, pathway: Pathway) -> dict:
    """data.cohorts._funnel_masks as predicates: each step requires the one before."""
    reached, masks = None, {}
    for stage in pathway.stages:
        done = t[f"{stage.name}_date"].notnull()
        reached = done if reached is None else reached & done
        masks[f"{stage.name}_done"] = reached
        if stage.ends and stage.name != pathway.last_stage:
            reached = reached & t[f"{stage.name}_result"].isin(list(stage.leads_on))
            masks[f"{stage.name}_led_on"] = reached
    return masks


def _month_counts(frame: pd.DataFrame, kind: str) -> pd.Series:
    rows = frame[frame["kind"] == kind]
    return pd.Series(rows["patients"].to_numpy(dtype="int64"),
                     index=pd.PeriodIndex(pd.to_datetime(rows["month"]), freq="M"))


def overview_queries(rows, pathway: Pathway) -> dict:
    """The Overview's aggregates over the cohort's rows: one row of totals, counts per month."""
    steps = funnel_predicates(rows, pathway)
    metrics = {"patients": rows.count(), "milestone_n": rows[MILESTONE_DAYS].count(),
               "median_days": rows[MILESTONE_DAYS].median(),
               "high_risk": rows.count(where=rows.risk_tier == HIGH_RISK_TIER)}
    metrics.update({f"flag_{name}": rows.count(where=p) for name, p in outcome_predicates(rows, pathway).items()})
    metrics.update({f"step_{name}": rows.count(where=p) for name, p in steps.items()})

    dates = [rows[f"{stage}_date"] for stage in pathway.stage_names]
    last = dates[0] if len(dates) == 1 else ibis.greatest(*dates)  # NULLs ignored, as pandas' max(axis=1)
    enrolled = rows.select(kind=ibis.literal("enrolled"), month=rows.enrollment_date.truncate("M"))
    completed = rows.filter(rows.status == COMPLETED).select(kind=ibis.literal("completed"),
                                                             month=last.truncate("M"))
    months = enrolled.union(completed, distinct=False)
    months = months.filter(months.month.notnull()).group_by(["kind", "month"]).aggregate(
        patients=lambda m: m.count())
    return {"totals": rows.aggregate(**metrics), "months": months}


def _count(value) -> int:
    """A count from the engine: Spark counts rows meeting a condition with SUM, NULL over no rows."""
    return 0 if value is None or pd.isna(value) else int(value)


def overview_from(results: dict, pathway: Pathway) -> OverviewNumbers:
    row = results["totals"].iloc[0]
    patients = _count(row["patients"])
    funnel = [patients if step == "enrolled" else _count(row[f"step_{step}"]) for step, _, _ in funnel_steps(pathway)]
    median = row["median_days"]
    months = results["months"]
    return OverviewNumbers(
        kpis=kpis_from_counts(patients, {name: _count(row[f"flag_{name}"]) for name in OUTCOME_FLAGS},
                              float("nan") if pd.isna(median) else float(median)),
        funnel=funnel_from_counts(funnel, pathway),
        trend=trend_from_month_counts(_month_counts(months, "enrolled"), _month_counts(months, "completed")),
        high_risk=_count(row["high_risk"]), milestone_n=_count(row["milestone_n"]))


def _breakdown_query(rows, by: str, pathway: Pathway):
    # Patients without a recorded value form their own group, as in data.cohorts.breakdown.
    rows = rows.mutate(group=rows[by].cast("string").fill_null(NOT_RECORDED_GROUP))
    flags = outcome_predicates(rows, pathway)
    return rows.group_by("group").aggregate(
        patients=lambda g: g.count(),
        completed=lambda g: g.count(where=flags["completed"]),
        dropped_out=lambda g: g.count(where=flags["dropped_out"]),
        in_progress=lambda g: g.count(where=flags["in_progress"]),
        median_days_to_milestone=lambda g: g[MILESTONE_DAYS].median(),
    )


def _breakdown_from(totals: pd.DataFrame) -> pd.DataFrame:
    # data.cohorts orders the table; the engine's group order (its collation) plays no part.
    totals = totals.sort_values("group", kind="stable").set_index("group")
    totals.index = totals.index.astype(object)
    counts = ["patients", "completed", "dropped_out", "in_progress"]
    totals[counts] = totals[counts].map(_count)
    return breakdown_from_totals(totals)


def pathways_queries(rows, pathway: Pathway) -> dict:
    """The Pathways page's aggregates: patients per terminal (status, stage), the waits'
    counts and quantiles, and the site and payer breakdowns."""
    terminal = (rows.filter(rows.status.notnull() & rows.status_stage.notnull())
                .group_by(["status", "status_stage"]).aggregate(patients=lambda g: g.count()))
    metrics = {"patients": rows.count()}
    for i, (column, _, _) in enumerate(duration_steps(pathway)):
        metrics[f"n_{i}"] = rows[column].count()
        # One aggregate per column for all its quantiles: the engine sorts each column once, not five times.
        metrics[f"q_{i}"] = rows[column].quantile(list(DURATION_QUANTILES.values()))
    queries = {"terminal": terminal, "durations": rows.aggregate(**metrics)}
    queries.update({f"by_{by}": _breakdown_query(rows, by, pathway) for by in BREAKDOWN_BY})
    return queries


def pathways_from(results: dict, pathway: Pathway) -> PathwaysNumbers:
    terminal = results["terminal"]
    counts = pd.Series(terminal["patients"].to_numpy(dtype="int64"),
                       index=pd.MultiIndex.from_frame(terminal[["status", "status_stage"]].astype(object)))
    row = results["durations"].iloc[0]
    stats = {}
    for i, (column, _, _) in enumerate(duration_steps(pathway)):
        n = _count(row[f"n_{i}"])
        stats[column] = (n, [float(q) for q in row[f"q_{i}"]] if n else [float("nan")] * len(DURATION_QUANTILES))
    return PathwaysNumbers(
        patients=_count(row["patients"]), flows=flows_from_terminal_counts(counts, pathway),
        durations=durations_from_stats(stats, pathway),
        breakdowns={by: _breakdown_from(results[f"by_{by}"]) for by in BREAKDOWN_BY})


PAGES = {"overview": (overview_queries, overview_from), "pathways": (pathways_queries, pathways_from)}


def page_numbers(table, cohort: CohortFilter, page: str, pathway: Pathway = DEFAULT_PATHWAY):
    """A page's numbers by executing the Ibis expressions directly (compiled on every call)."""
    build, assemble = PAGES[page]
    queries = build(filtered(table, cohort, pathway), pathway)
    return assemble({name: query.execute() for name, query in queries.items()}, pathway)


ROWS = "carepath_cohort_rows"  # the placeholder the prepared queries read the cohort's rows from


class PreparedQueries:
    """Every page's aggregates compiled once to the backend's SQL; per call, the cohort filter
    is compiled and put in front as a common table expression of the placeholder's name."""

    KEPT_SOURCES = 32

    def __init__(self, backend, table, pathway: Pathway = DEFAULT_PATHWAY):
        self.backend, self.table, self.pathway = backend, table, pathway
        self._sources: dict = {}  # cohort -> its SELECT, oldest first
        self.dialect = backend.name
        placeholder = ibis.table(table.schema(), name=ROWS)
        self.sql = {page: {name: ibis.to_sql(query, dialect=self.dialect)
                           for name, query in build(placeholder, pathway).items()}
                    for page, (build, _) in PAGES.items()}
        self._rows = sqlglot.exp.to_identifier(ROWS, quoted=True).sql(dialect=self._sqlglot_dialect())

    def _sqlglot_dialect(self) -> str:
        return {"pyspark": "spark", "postgres": "postgres"}.get(self.dialect, self.dialect)

    def source(self, cohort: CohortFilter) -> str:
        """The cohort's rows as a SELECT in the backend's SQL (the last few kept: the Overview
        and Pathways callbacks of one filter change ask for the same cohort)."""
        source = self._sources.pop(cohort, None)
        if source is None:
            source = ibis.to_sql(filtered(self.table, cohort, self.pathway), dialect=self.dialect)
        self._sources[cohort] = source
        while len(self._sources) > self.KEPT_SOURCES:
            self._sources.pop(next(iter(self._sources)))
        return source

    def statement(self, page: str, name: str, source: str) -> str:
        query = self.sql[page][name].strip()
        if query[:5].upper() == "WITH ":  # the aggregate has common table expressions of its own
            return f"WITH {self._rows} AS ({source}), {query[5:]}"
        return f"WITH {self._rows} AS ({source}) {query}"

    def numbers(self, page: str, cohort: CohortFilter):
        _, assemble = PAGES[page]
        source = self.source(cohort)
        return assemble({name: fetch(self.backend, self.statement(page, name, source)) for name in self.sql[page]},
                        self.pathway)


def fetch(backend, sql: str) -> pd.DataFrame:
    """Run SQL text on an Ibis backend and return its rows as a DataFrame."""
    result = backend.raw_sql(sql)
    if hasattr(result, "toPandas"):  # Spark answers with a DataFrame of its own
        return result.toPandas()
    try:
        columns = [column[0] for column in result.description]
        return pd.DataFrame(result.fetchall(), columns=columns)
    finally:
        if hasattr(result, "close") and result is not getattr(backend, "con", None):
            result.close()
