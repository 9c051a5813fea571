"""Readiness of a valid dataset for the models and the pages: can it be trained on and served?

A dataset can meet the contract and still be unable to support a model (too few decision
points whose outcome is final, an as-of date inferred from a stray far-future event) or
support one whose figures mean little (a handful of patients).  Each check here gives one
plain-English finding with a status: ok, warning (the app works, something is left out or
uncertain) or blocking (no model is trained; the descriptive pages still work).

The thresholds are written once here and imported by ``ml`` and the pages.  Pure: no Dash,
no model; ``assess`` derives the decision points once and reads nothing from disk.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.io import AS_OF_FROM_EVENTS, METADATA, Dataset
from data.journeys import STATUS_IN_PROGRESS, derive_decision_points
from data.pathway import DEFAULT_PATHWAY, Pathway
from data.schema import EVENT_COLUMNS, PATIENT_COLUMNS

OK, WARNING, BLOCKING = "ok", "warning", "blocking"

# Below these no model is trained: grouped 5-fold cross-validation, cross-fitted calibration
# and the bootstrap need both outcomes in every fold, and a few dozen labels give an AUC
# whose interval spans most of [0.5, 1].
MIN_LABELLED_DECISION_POINTS = 100
MIN_PER_CLASS = 20
# Fewer labelled decision points than this still train, with a warning that every figure
# comes with a wide confidence interval.
SMALL_SAMPLE_DECISION_POINTS = 1000
# A 95% ROC-AUC interval wider than this is too wide to compare models or read as accuracy.
MAX_MEANINGFUL_AUC_CI_WIDTH = 0.2
# Below this share of labelled decision points with a booked appointment, the booking
# features (lead time, days until / past the appointment, missed bookings) are left out.
MIN_BOOKING_COVERAGE = 0.05
# An as-of date inferred from the events more than this many days after the date by which
# 99% of the events had happened is taken as a stray date, not the end of the data.
AS_OF_MAX_DAYS_BEYOND_DATA = 180
AS_OF_DATA_QUANTILE = 0.99
# A number above this multiple of its column's 99th percentile is flagged as implausible.
PLAUSIBILITY_QUANTILE = 0.99
PLAUSIBILITY_FACTOR = 10

SETTING_HINT = f"set as_of in {METADATA} (e.g. as_of = 2026-09-30) or the CAREPATH_AS_OF setting"


@dataclass(frozen=True)
class Finding:
    rule: str
    status: str  # OK, WARNING or BLOCKING
    message: str

    def __str__(self) -> str:
        return f"[{self.status}] {self.message}"


@dataclass(frozen=True)
class ReadinessReport:
    findings: tuple[Finding, ...]

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == BLOCKING)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == WARNING)

    @property
    def model_blocked(self) -> bool:
        return bool(self.blocking)

    def finding(self, rule: str) -> Finding | None:
        return next((f for f in self.findings if f.rule == rule), None)

    def text(self, indent: str = "  ") -> str:
        width = max(len(f"[{status}]") for status in (OK, WARNING, BLOCKING))
        return "\n".join(f"{indent}{f'[{f.status}]':<{width}} {f.message}" for f in self.findings)


# --------------------------------------------------------------------------- shared rules


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def horizon_range_days(pathway: Pathway = DEFAULT_PATHWAY, programs=None) -> tuple[int, int]:
    """Shortest and longest wait, over programs and decision stages, before an outcome is final."""
    horizons = [pathway.outcome_horizon_days(p, s) for p in (programs or pathway.program_names)
                for s in pathway.decision_stages]
    return min(horizons), max(horizons)


def labelled_counts(labelled: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> dict:
    """Counts of labelled decision points (one row each, with awaiting_stage and dropped_out):
    total, per class and per stage and class."""
    dropped = labelled["dropped_out"].astype(int).to_numpy()
    awaiting = labelled["awaiting_stage"].astype(str).to_numpy()
    per_stage = {stage: {"dropped_out": int(((awaiting == stage) & (dropped == 1)).sum()),
                         "did_not": int(((awaiting == stage) & (dropped == 0)).sum())}
                 for stage in pathway.decision_stages}
    return {"total": int(len(labelled)), "dropped_out": int(dropped.sum()), "did_not": int((dropped == 0).sum()),
            "per_stage": per_stage}


def labelled_points_problem(labelled: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> str | None:
    """Why these labelled decision points cannot train a model (the rule and its threshold), or None."""
    counts = labelled_counts(labelled, pathway)
    if counts["total"] >= MIN_LABELLED_DECISION_POINTS and min(counts["dropped_out"], counts["did_not"]) >= MIN_PER_CLASS:
        return None
    shortest, longest = horizon_range_days(pathway)
    return (f"No model: the data hold {_count(counts['total'], 'labelled decision point')} "
            f"({counts['dropped_out']:,} dropped out, {counts['did_not']:,} did not); training needs at least "
            f"{MIN_LABELLED_DECISION_POINTS:,}, with at least {MIN_PER_CLASS:,} of each outcome. A decision point "
            f"is labelled once every remaining window of its pathway has closed, {shortest:,}-{longest:,} days "
            "after it, so more patients or a longer history are needed.")


def booking_coverage(points: pd.DataFrame) -> float:
    """Share of decision points whose next stage was booked at the decision (NaN for none)."""
    return float(points["booked_date"].notna().mean()) if len(points) else float("nan")


def booking_features_unusable(points: pd.DataFrame) -> str | None:
    """Why the booking features cannot be used with these decision points, or None."""
    coverage = booking_coverage(points)
    if len(points) and coverage >= MIN_BOOKING_COVERAGE:
        return None
    shown = 0.0 if np.isnan(coverage) else coverage
    return (f"{shown:.0%} of the labelled decision points have a booked "
            f"appointment (next_appointment_date), below the {MIN_BOOKING_COVERAGE:.0%} needed to learn from "
            "bookings, so the booking features (lead time, days until / past the appointment, missed bookings) "
            "are left out of the models.")


def as_of_finding(dataset: Dataset, today: dt.date | None = None) -> Finding:
    """Is the as-of date plausible? An inferred one after today, or far beyond the rest of the
    events, is blocking: every patient still waiting would count as a dropout."""
    today = pd.Timestamp(today or dt.date.today()).normalize()
    as_of = pd.Timestamp(dataset.as_of).normalize()
    inferred = dataset.as_of_source == AS_OF_FROM_EVENTS
    where = "inferred from the latest event date" if inferred else f"from {dataset.as_of_source}"
    dates = dataset.events["date"].dropna()
    bulk_end = pd.Timestamp(dates.quantile(AS_OF_DATA_QUANTILE)).normalize() if len(dates) else as_of
    days_beyond = int((as_of - bulk_end).days)
    if as_of > today:
        status = BLOCKING if inferred else WARNING
        consequence = ("every patient still waiting would count as a dropout, so no model is trained" if inferred
                       else "check that it is the day the data were extracted")
        return Finding("as_of_after_today", status,
                       f"The as-of date {as_of:%Y-%m-%d} ({where}) lies after today ({today:%Y-%m-%d}): "
                       f"{consequence}; {SETTING_HINT}.")
    if inferred and days_beyond > AS_OF_MAX_DAYS_BEYOND_DATA:
        return Finding("as_of_beyond_data", BLOCKING,
                       f"The as-of date {as_of:%Y-%m-%d} was inferred from the latest event, which lies "
                       f"{days_beyond:,} days after the date by which {AS_OF_DATA_QUANTILE:.0%} of the events had "
                       f"happened ({bulk_end:%Y-%m-%d}; the limit is {AS_OF_MAX_DAYS_BEYOND_DATA} days): a stray "
                       "date would make every patient still waiting count as a dropout, so no model is trained; "
                       f"{SETTING_HINT}.")
    return Finding("as_of", OK, f"As-of date {as_of:%Y-%m-%d} ({where}).")


def model_blockers(dataset: Dataset, labelled: pd.DataFrame, today: dt.date | None = None) -> list[str]:
    """Every reason (a sentence naming the rule and its threshold) no model may be trained.

    ``labelled`` holds one row per labelled decision point (awaiting_stage, dropped_out);
    ml.risk.training passes those that give the model at least one row.
    """
    reasons = []
    as_of = as_of_finding(dataset, today)
    if as_of.status == BLOCKING:
        reasons.append(as_of.message)
    problem = labelled_points_problem(labelled, dataset.pathway)
    if problem:
        reasons.append(problem)
    return reasons


# --------------------------------------------------------------------------- the report


def _labelled_finding(labelled: pd.DataFrame, pathway: Pathway) -> Finding:
    problem = labelled_points_problem(labelled, pathway)
    if problem:
        return Finding("labelled_decision_points", BLOCKING, problem)
    counts = labelled_counts(labelled, pathway)
    stages = "; ".join(f"awaiting {stage.replace('_', '-')} {c['dropped_out'] + c['did_not']:,} "
                       f"({c['dropped_out']:,} dropped out)" for stage, c in counts["per_stage"].items())
    text = (f"{_count(counts['total'], 'labelled decision point')} ({counts['dropped_out']:,} dropped out, "
            f"{counts['did_not']:,} did not): {stages}.")
    if counts["total"] < SMALL_SAMPLE_DECISION_POINTS:
        return Finding("labelled_decision_points", WARNING,
                       f"{text} Fewer than {SMALL_SAMPLE_DECISION_POINTS:,}: the models train, but their accuracy "
                       "figures come with wide confidence intervals (the Model page says when one is wider than "
                       f"{MAX_MEANINGFUL_AUC_CI_WIDTH}).")
    return Finding("labelled_decision_points", OK, text)


def _time_span_finding(dataset: Dataset, points: pd.DataFrame) -> Finding:
    pathway = dataset.pathway
    programs = tuple(sorted(set(dataset.patients["program"].dropna().astype(str)) & set(pathway.program_names)))
    shortest, longest = horizon_range_days(pathway, programs or None)
    if points.empty:
        booking = ", ".join(pathway.stage_labels[pathway.previous_stage[s]].lower() for s in pathway.decision_stages)
        return Finding("time_span", BLOCKING, f"No decision point (an event that books the next stage: {booking}) "
                       "in the events, so there is nothing to predict.")
    first = pd.Timestamp(points["decision_date"].min())
    span = int((pd.Timestamp(dataset.as_of) - first).days)
    text = (f"The decision points span {span:,} days, from {first:%Y-%m-%d} to the as-of date; an outcome is "
            f"final {shortest:,}-{longest:,} days after its decision point.")
    if span <= shortest:
        return Finding("time_span", BLOCKING, f"{text} Shorter than the shortest horizon: no outcome is final yet.")
    if span <= longest:
        return Finding("time_span", WARNING, f"{text} Shorter than the longest horizon: decision points of some "
                                             "stages cannot be labelled yet.")
    return Finding("time_span", OK, text)


def _in_progress_finding(points: pd.DataFrame, as_of) -> Finding:
    waiting = points[(points["pathway_outcome"] == STATUS_IN_PROGRESS) & points["next_stage_date"].isna()
                     & (points["window_closes"] >= pd.Timestamp(as_of))]
    if waiting.empty:
        return Finding("in_progress", WARNING, "Nobody is in progress at the as-of date (waiting for a diagnosis, "
                                               "treatment or follow-up with the window still open): the Worklist "
                                               "will be empty.")
    return Finding("in_progress", OK, f"{_count(waiting['patient_id'].nunique(), 'patient')} in progress at the "
                                      "as-of date, to be scored for the Worklist.")


def _booking_finding(labelled_points: pd.DataFrame) -> Finding:
    problem = booking_features_unusable(labelled_points)
    if problem:
        return Finding("booking_coverage", WARNING, problem)
    return Finding("booking_coverage", OK, f"{booking_coverage(labelled_points):.0%} of the labelled decision "
                                           "points have a booked appointment.")


def implausible_values(values: pd.Series) -> tuple[int, float, float]:
    """(how many, the threshold, the largest) of values above PLAUSIBILITY_FACTOR × their 99th percentile."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    numbers = numbers[np.isfinite(numbers)]
    if numbers.empty:
        return 0, float("nan"), float("nan")
    threshold = float(numbers.quantile(PLAUSIBILITY_QUANTILE)) * PLAUSIBILITY_FACTOR
    if threshold <= 0:  # mostly zeros (e.g. no-shows): any count would be "ten times" nothing
        return 0, threshold, float(numbers.max())
    flagged = numbers > threshold
    return int(flagged.sum()), threshold, float(numbers[flagged].max()) if flagged.any() else float("nan")


def _plausibility_findings(dataset: Dataset) -> list[Finding]:
    findings = []
    numeric = [("patients", c) for c in PATIENT_COLUMNS if c.kind in ("int", "float")]
    numeric += [("events", c) for c in EVENT_COLUMNS if c.kind in ("int", "float")]
    for table_name, column in numeric:
        table = getattr(dataset, table_name)
        if column.name not in table.columns:
            continue
        n, threshold, largest = implausible_values(table[column.name])
        if n:
            rows = "patient" if table_name == "patients" else "event"
            findings.append(Finding(f"implausible_{column.name}", WARNING,
                                    f"{table_name}.{column.name}: {_count(n, rows)} above {PLAUSIBILITY_FACTOR} × "
                                    f"the column's 99th percentile ({threshold:,.4g}), up to {largest:,.4g}; "
                                    "check units and entry errors (the models clip values to the contract's "
                                    "bounds, they do not drop them)."))
    if not findings:
        findings.append(Finding("plausible_values", OK, f"No number above {PLAUSIBILITY_FACTOR} × its column's "
                                                        "99th percentile."))
    return findings


def assess(dataset: Dataset, today: dt.date | None = None, points: pd.DataFrame | None = None) -> ReadinessReport:
    """The readiness report of a (valid) dataset; ``today`` defaults to the wall clock. ``points``:
    its decision points when already derived (the start-up workspace), else derived here."""
    if points is None:
        points = derive_decision_points(dataset.patients, dataset.events, dataset.as_of, dataset.pathway)
    labelled_points = points[points["dropped_out"].notna()]
    findings = [
        as_of_finding(dataset, today),
        _time_span_finding(dataset, points),
        _labelled_finding(labelled_points, dataset.pathway),
        _in_progress_finding(points, dataset.as_of),
        _booking_finding(labelled_points),
        *_plausibility_findings(dataset),
    ]
    return ReadinessReport(tuple(findings))
