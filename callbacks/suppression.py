"""Small-cell suppression for users who see aggregates only (analysts).

A count from 1 to 10 is shown as "<11", and so is any rate whose numerator or
denominator is from 1 to 10 (zero reveals nobody and is shown). The rule is applied to
the aggregate frames before they become figures and tables, so every page an analyst
sees goes through the same few functions. Patient-level roles see exact numbers.
"""
from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pandas as pd

from components import formatting

MIN_CELL = 11
SUPPRESSED = "<11"
SUPPRESSED_FIGURE = "Counts under 11 are suppressed for your role"


def is_small(value) -> bool:
    """True for a count from 1 to 10 (NaN and None are not counts)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return 0 < float(value) < MIN_CELL


def count_text(value) -> str:
    return SUPPRESSED if is_small(value) else formatting.count(value)


def rate_text(rate, numerator, denominator) -> str:
    return SUPPRESSED if is_small(numerator) or is_small(denominator) else formatting.percent(rate)


def rate_of(rate, *counts) -> str:
    """A rate, or "<11" when any count it rests on is from 1 to 10."""
    return SUPPRESSED if any(is_small(c) for c in counts) else formatting.percent(rate)


def days_text(value, n) -> str:
    """A median of fewer than 11 patients' waits is close to one patient's wait."""
    return SUPPRESSED if is_small(n) else formatting.days(value)


def _small_mask(values: pd.Series) -> np.ndarray:
    numeric = pd.to_numeric(values, errors="coerce")
    return ((numeric > 0) & (numeric < MIN_CELL)).to_numpy()


def funnel(frame: pd.DataFrame) -> pd.DataFrame:
    """Funnel steps with small counts as "<11" and conversion/share hidden where either side is small."""
    out = frame.astype({"patients": object, "drop_off": object, "conversion": object, "share_of_enrolled": object})
    small = _small_mask(frame["patients"])
    previous_small = np.concatenate([[False], small[:-1]])
    enrolled_small = bool(small[0]) if len(small) else False
    out.loc[small, "patients"] = SUPPRESSED
    out.loc[_small_mask(frame["drop_off"]), "drop_off"] = SUPPRESSED
    out.loc[small | previous_small, "conversion"] = math.nan
    out.loc[small | enrolled_small, "share_of_enrolled"] = math.nan
    return out


def has_small(frame: pd.DataFrame, columns) -> bool:
    return any(_small_mask(frame[c]).any() for c in columns if c in frame.columns)


def trend(frame: pd.DataFrame) -> pd.DataFrame:
    """Monthly counts under 11 become gaps (NaN) in the figure."""
    out = frame.astype({"enrolled": "float64", "completed": "float64"})
    for column in ("enrolled", "completed"):
        out.loc[_small_mask(frame[column]), column] = math.nan
    return out


def sankey(flows: pd.DataFrame) -> pd.DataFrame:
    """Links carrying 1-10 patients are left out (the figure drops empty links)."""
    out = flows.copy()
    out.loc[_small_mask(flows["patients"]), "patients"] = 0
    return out


def durations(frame: pd.DataFrame) -> pd.DataFrame:
    """Steps measured on 1-10 patients lose their quantiles; n reads "<11"."""
    out = frame.astype({"n": object})
    small = _small_mask(frame["n"])
    for column in ("p05", "p25", "median", "p75", "p95"):
        if column in out.columns:
            out.loc[small, column] = math.nan
    out.loc[small, "n"] = SUPPRESSED
    return out


def breakdown(frame: pd.DataFrame) -> pd.DataFrame:
    """Breakdown rows (data.cohorts.breakdown) with small counts and the rates built on them hidden."""
    out = frame.astype(object)
    for column in ("patients", "resolved", "in_progress", "completed", "dropped_out"):
        out.loc[_small_mask(frame[column]), column] = SUPPRESSED
    resolved_small = _small_mask(frame["resolved"])
    out.loc[resolved_small | _small_mask(frame["completed"]), "completion_rate"] = SUPPRESSED
    out.loc[resolved_small | _small_mask(frame["dropped_out"]), "dropout_rate"] = SUPPRESSED
    # The median wait of a small group is close to one patient's wait.
    out.loc[_small_mask(frame["patients"]) | _small_mask(frame["completed"]), "median_days_to_milestone"] = SUPPRESSED
    return out


def subgroup_rows(rows: list[dict]) -> list[dict]:
    """Model subgroup rows: a group whose dropouts or completers number 1-10 shows no rates."""
    out = []
    for row in rows:
        row = dict(row)
        n = row.get("rows")
        rate = row.get("observed_rate")
        events = None if n is None or rate is None else round(rate * n)
        if is_small(n) or is_small(events) or (events is not None and is_small(n - events)):
            for key in ("roc_auc", "observed_rate", "mean_predicted", "calibration_gap", "ece"):
                if key in row:
                    row[key] = SUPPRESSED
            if is_small(n):
                row["rows"] = SUPPRESSED
        out.append(row)
    return out


MEASURE_COUNTS = ("numerator", "denominator", "gap", "not_yet_evaluable", "excluded_age_out_of_range",
                  "excluded_age_not_recorded")
TRUNCATED_NOTE = "Points resting on fewer than 11 patients are not shown for your role"


def measure_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Quality rate rows (data.measures rate_table): small counts read "<11"; the rate and its
    interval too when the numerator, denominator or gap is small (any two give the third);
    the excluded total when either of its parts is small (the other part would give it away)."""
    out = frame.astype(object)
    small = {c: _small_mask(frame[c]) for c in MEASURE_COUNTS if c in frame.columns}
    for column, mask in small.items():
        out.loc[mask, column] = SUPPRESSED
    rate_hidden = small["numerator"] | small["denominator"] | small["gap"]
    for column in ("rate", "rate_lower", "rate_upper"):
        out.loc[rate_hidden, column] = SUPPRESSED
    excluded = frame["excluded_age_out_of_range"] + frame["excluded_age_not_recorded"]
    out["excluded"] = excluded.astype(object)
    out.loc[small["excluded_age_out_of_range"] | small["excluded_age_not_recorded"] | _small_mask(excluded),
            "excluded"] = SUPPRESSED
    return out


def measure_trend(by_month: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Months whose rate rests on 1-10 patients (numerator, denominator or gap) are left out of
    the trend (a zero denominator is how the figure leaves a month out); True when any was."""
    hidden = _small_mask(by_month["numerator"]) | _small_mask(by_month["denominator"]) | _small_mask(by_month["gap"])
    out = by_month.copy()
    out.loc[hidden, "denominator"] = 0
    return out, bool(hidden.any())


def risk_table(table: pd.DataFrame) -> pd.DataFrame:
    """A Journeys risk table (day, at_risk, event_*, censored_*): counts 1-10 read "<11"; a
    column whose at-risk count is small says "<11" throughout (its events would name people)."""
    out = table.astype(object)
    thin = _small_mask(table["at_risk"])
    for column in table.columns:
        if column == "day":
            continue
        out.loc[_small_mask(table[column]) | thin, column] = SUPPRESSED
    return out


def incidence_cut(estimate) -> float | None:
    """The first time at which fewer than 11 remain at risk (the curve stops there), or None."""
    survival = estimate.incidence.survival
    thin = survival[pd.to_numeric(survival["at_risk"]) < MIN_CELL]
    return None if thin.empty else float(thin["time"].iloc[0])


def truncated_incidence(estimate):
    """``estimate`` (data.analytics.time_to_next_stage.TimeToNextStage) with its curves cut
    where fewer than 11 remain at risk, and the cut time (None: nothing cut)."""
    cut = incidence_cut(estimate)
    if cut is None:
        return estimate, None
    incidence = estimate.incidence
    curves = incidence.curves[incidence.curves["time"] < cut] if len(incidence.curves) else incidence.curves
    return replace(estimate, incidence=replace(incidence, curves=curves)), cut


def variant_rows(rows: list[dict]) -> list[dict]:
    """Journeys variant grid rows: small counts read "<11", as do shares, completion and
    timings resting on them."""
    out = []
    for row in rows:
        row = dict(row)
        small_group = is_small(row["patients"])
        for key in ("patients", "dropped_out", "in_progress", "exited"):
            if small_group or is_small(row[key]):
                row[key] = SUPPRESSED
        if small_group:
            row["share"] = row["completion"] = row["timing"] = SUPPRESSED
            row["median_days"] = None
        elif _share_is_small(row["completion"]) or row["dropped_out"] == SUPPRESSED:  # completed + dropped out
            row["completion"] = SUPPRESSED
        out.append(row)
    return out


def _share_is_small(text: str) -> bool:
    """True when a "40.0 % (2 / 5)" text has a numerator or denominator from 1 to 10."""
    match = re.search(r"\(([\d,]+) / ([\d,]+)\)", str(text))
    return bool(match) and any(is_small(int(part.replace(",", ""))) for part in match.groups())


def _rests_on_few(rows, rate) -> bool:
    """A rate over ``rows`` whose events or non-events number 1-10 (or the rows themselves)."""
    if is_small(rows):
        return True
    if rows is None or rate is None or isinstance(rows, str):
        return False
    events = round(rate * rows)
    return is_small(events) or is_small(rows - events)


def model_report(report: dict) -> dict:
    """The model report as an aggregate-only user sees it on the Model page: capacity rows,
    landmark and stage slices, today's in-progress count and monitoring months resting on 1-10
    rows or events lose their counts ("<11") and the rates built on them. Only the parts
    changed are copied (the report is large and shared)."""
    out = dict(report)
    decisions = report.get("decisions")
    if decisions and decisions.get("capacity"):
        capacity = []
        for row in decisions["capacity"]:
            if is_small(row.get("calls")) or is_small(row.get("dropouts_reached")):
                row = dict(row, share_of_dropouts=None, calls_per_dropout_reached=None,
                           calls=count_text(row.get("calls")), dropouts_reached=count_text(row.get("dropouts_reached")))
            capacity.append(row)
        out["decisions"] = dict(decisions, capacity=capacity)
    models = dict(report.get("models") or {})
    for name, model in models.items():
        changed = {}
        for key in ("by_landmark", "by_stage"):
            if model.get(key):
                changed[key] = [dict(r, rows=SUPPRESSED, roc_auc=None, oracle_roc_auc=None) if is_small(r.get("rows"))
                                else r for r in model[key]]
        day = model.get("decision_day")
        if day and is_small(day.get("rows")):
            changed["decision_day"] = dict(day, rows=SUPPRESSED, roc_auc=None)
        if changed:
            models[name] = dict(model, **changed)
    out["models"] = models
    monitoring = report.get("monitoring")
    if monitoring:
        monitoring = dict(monitoring)
        current = monitoring.get("current")
        if current and is_small(current.get("in_progress_patients")):
            estimated = dict(current.get("estimated") or {}, dropout_rate=None)
            monitoring["current"] = dict(current, in_progress_patients=SUPPRESSED, estimated=estimated)
        if monitoring.get("by_month"):
            monitoring["by_month"] = [
                dict(m, rows=count_text(m.get("rows")), observed_rate=None, mean_predicted=None, roc_auc=None,
                     calibration_in_the_large=None, estimated_roc_auc=None)
                if _rests_on_few(m.get("rows"), m.get("observed_rate")) else m
                for m in monitoring["by_month"]]
        out["monitoring"] = monitoring
    return out
