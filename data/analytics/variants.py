"""Journey variants: the distinct sequences of pathway events patients went through (as
process-mining tools show them), with their share, outcome and timing.

A patient's variant is the pathway stages they had, in date order (ties in pathway
order), each with its result where the stage has results: "Screening (positive) →
Diagnosis (confirmed) → Treatment". Patients with no stage recorded share the variant
"none". A variant's key is URL-safe ("screening.positive-diagnosis.confirmed-treatment"),
so a selection can live in the address bar like the other cohort filters.

Vectorised over patients (one integer code per patient), so a million take seconds.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data.cohorts import median_from_counts
from data.journeys import (
    STATUS_COMPLETED,
    STATUS_DROPPED_OUT,
    STATUS_EXITED,
    STATUS_IN_PROGRESS,
)
from data.pathway import DEFAULT_PATHWAY, Pathway

NO_EVENTS = "none"
NO_EVENTS_LABEL = "No stage recorded yet"
OTHER = "other"
OTHER_LABEL = "Other variants"
STEP_SEPARATOR, RESULT_SEPARATOR = "-", "."
_NEVER = np.iinfo("int64").max


def _token_table(pathway: Pathway) -> list[tuple[str, str | None]]:
    """Every (stage, result) a step can be; a step's code is its position + 1 (0 = no step)."""
    tokens = []
    for stage in pathway.stages:
        tokens.append((stage.name, None))
        tokens.extend((stage.name, result) for result in stage.results)
    return tokens


def _step_codes(frame: pd.DataFrame, pathway: Pathway) -> tuple[np.ndarray, np.ndarray]:
    """(codes, days): per patient and step position, the step's token code (0 = none) and
    its date in days since the epoch (int64 max when none), in date order."""
    tokens = _token_table(pathway)
    index = {token: i + 1 for i, token in enumerate(tokens)}
    n = len(frame)
    days = np.full((n, len(pathway.stages)), _NEVER, dtype="int64")
    codes = np.zeros((n, len(pathway.stages)), dtype="int64")
    for position, stage in enumerate(pathway.stages):
        dates = pd.to_datetime(frame[f"{stage.name}_date"])
        happened = dates.notna().to_numpy()
        days[happened, position] = (dates[happened].to_numpy("datetime64[D]").astype("int64"))
        code = np.full(n, index[(stage.name, None)], dtype="int64")
        if stage.has_results:
            results = frame[f"{stage.name}_result"]
            for result in stage.results:
                code[(results == result).to_numpy()] = index[(stage.name, result)]
        codes[happened, position] = code[happened]
    order = np.argsort(days, axis=1, kind="stable")  # ties keep pathway order
    return np.take_along_axis(codes, order, axis=1), np.take_along_axis(days, order, axis=1)


def _combine(codes: np.ndarray, base: int) -> np.ndarray:
    weights = base ** np.arange(codes.shape[1], dtype="int64")
    return codes @ weights


def _base(pathway: Pathway) -> int:
    return len(_token_table(pathway)) + 1


def variant_codes(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> np.ndarray:
    """One int64 per patient identifying their variant (0 = no stage recorded)."""
    codes, _ = _step_codes(frame, pathway)
    return _combine(codes, _base(pathway))


def _code_tokens(code: int, pathway: Pathway) -> list[tuple[str, str | None]]:
    tokens, base, steps = _token_table(pathway), _base(pathway), []
    while code:
        code, step = divmod(int(code), base)
        steps.append(tokens[step - 1])
    return steps


def variant_key(code: int, pathway: Pathway = DEFAULT_PATHWAY) -> str:
    steps = _code_tokens(code, pathway)
    if not steps:
        return NO_EVENTS
    return STEP_SEPARATOR.join(stage if result is None else f"{stage}{RESULT_SEPARATOR}{result}"
                               for stage, result in steps)


def variant_label(code: int, pathway: Pathway = DEFAULT_PATHWAY) -> str:
    steps = _code_tokens(code, pathway)
    if not steps:
        return NO_EVENTS_LABEL
    return " → ".join(pathway.stage(stage).label if result is None
                      else f"{pathway.stage(stage).label} ({pathway.stage(stage).result_label(result).lower()})"
                      for stage, result in steps)


def code_for_key(key: str | None, pathway: Pathway = DEFAULT_PATHWAY) -> int | None:
    """The variant code of a URL key, or None when the key names no possible variant
    (unknown stage or result, a stage twice, more steps than stages)."""
    if not key:
        return None
    if key == NO_EVENTS:
        return 0
    index = {token: i + 1 for i, token in enumerate(_token_table(pathway))}
    steps = key.split(STEP_SEPARATOR)
    if len(steps) > len(pathway.stages):
        return None
    codes, seen = [], set()
    for step in steps:
        stage, _, result = step.partition(RESULT_SEPARATOR)
        token = (stage, result or None)
        if token not in index or stage in seen:
            return None
        seen.add(stage)
        codes.append(index[token])
    return int(_combine(np.array([codes + [0] * (len(pathway.stages) - len(codes))]), _base(pathway))[0])


VARIANT_DAYS = "variant_days"  # enrollment -> the variant's last step
VARIANT_STATUSES = (STATUS_COMPLETED, STATUS_DROPPED_OUT, STATUS_IN_PROGRESS, STATUS_EXITED)


def variant_gap_column(i: int) -> str:
    """The days from the step before (enrollment for the first) to the variant's step ``i``."""
    return f"variant_gap_{i}"


def variant_timings(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """Per patient (``frame``'s index): the variant code, VARIANT_DAYS and each step's gap
    (variant_gap_column; NaN where the patient has no such step)."""
    codes, days = _step_codes(frame, pathway)
    enrolled = pd.to_datetime(frame["enrollment_date"]).to_numpy("datetime64[D]").astype("int64")
    has_step = codes > 0
    previous = np.concatenate([enrolled[:, None], days[:, :-1]], axis=1)
    gaps = np.where(has_step, days - previous, np.nan).astype(float)
    last = np.where(has_step.any(axis=1), np.where(has_step, days, np.iinfo("int64").min).max(axis=1), 0)
    duration = np.where(has_step.any(axis=1), last - enrolled, np.nan).astype(float)
    return pd.DataFrame({"variant": _combine(codes, _base(pathway)), VARIANT_DAYS: duration,
                         **{variant_gap_column(i): gaps[:, i] for i in range(gaps.shape[1])}}, index=frame.index)


def timing_columns(pathway: Pathway = DEFAULT_PATHWAY) -> tuple[str, ...]:
    """VARIANT_DAYS then every step's gap: a timing's position here is its number in
    ``variants_from_counts``' timing counts."""
    return (VARIANT_DAYS, *(variant_gap_column(i) for i in range(len(pathway.stages))))


def journey_variants(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY, top: int = 10) -> pd.DataFrame:
    """The ``top`` most common variants and one "Other variants" row, so the rows add up to
    the cohort. Columns: key, label, steps, patients, cohort (all patients: the share's
    denominator), share, completed, dropped_out, in_progress, exited, resolved
    (completed + dropped out: the completion rate's denominator), completion_rate,
    median_step_days (list: enrollment → first step, then between steps), median_days
    (enrollment → the last step). Counts are plain integer columns built here only."""
    timings = variant_timings(frame, pathway)
    variant = timings["variant"].to_numpy()
    status = pd.DataFrame({"variant": variant, "status": frame["status"].to_numpy()})
    status_counts = status.groupby(["variant", "status"], dropna=False).size().rename("n").reset_index()
    parts = []
    for measure, column in enumerate(timing_columns(pathway)):
        values = timings[column].to_numpy()
        present = ~np.isnan(values)
        part = pd.DataFrame({"variant": variant[present], "value": values[present]})
        counts = part.groupby(["variant", "value"]).size().rename("n").reset_index()
        parts.append(counts.assign(measure=measure))
    timing_counts = pd.concat(parts, ignore_index=True)
    return variants_from_counts(status_counts, timing_counts, len(frame), pathway, top)


def _median(values: np.ndarray, counts: np.ndarray) -> float | None:
    return None if counts.sum() == 0 else median_from_counts(values, counts)


def variants_from_counts(status_counts: pd.DataFrame, timing_counts: pd.DataFrame, cohort: int,
                         pathway: Pathway = DEFAULT_PATHWAY, top: int = 10) -> pd.DataFrame:
    """The journey_variants table from the cohort's patients per (variant, status) and per
    (variant, measure, value) of its timings (measure: the position in ``timing_columns``), as
    any engine counts them: medians are read off the value counts, exactly."""
    variant = status_counts["variant"].to_numpy().astype("int64")
    n = status_counts["n"].to_numpy().astype("int64")
    status = status_counts["status"].astype(object).to_numpy()
    patients = pd.Series(n).groupby(variant).sum()
    # Most patients first; ties broken by the code so the order is stable.
    ranked = sorted((int(code) for code in patients.index if patients[code] > 0), key=lambda c: (-patients[c], c))
    kept = ranked[:top]
    kept_set = set(kept)
    group = np.array([code if code in kept_set else -1 for code in variant], dtype="int64")
    t_variant = timing_counts["variant"].to_numpy().astype("int64")
    t_group = np.array([code if code in kept_set else -1 for code in t_variant], dtype="int64")
    t_measure = timing_counts["measure"].to_numpy().astype("int64")
    t_value = timing_counts["value"].to_numpy().astype("float64")
    t_n = timing_counts["n"].to_numpy().astype("int64")
    rows = []
    for code in [*kept, *([-1] if len(ranked) > top else [])]:
        steps = len(_code_tokens(code, pathway)) if code >= 0 else 0
        mine = group == code
        flags = {s: int(n[mine & (status == s)].sum()) for s in VARIANT_STATUSES}
        timing = t_group == code

        def median(measure: int):
            chosen = timing & (t_measure == measure)
            return _median(t_value[chosen], t_n[chosen])

        rows.append({
            "key": variant_key(code, pathway) if code >= 0 else OTHER,
            "label": variant_label(code, pathway) if code >= 0 else f"{OTHER_LABEL} ({len(ranked) - top})",
            "steps": steps,
            "patients": int(n[mine].sum()),
            "completed": flags[STATUS_COMPLETED], "dropped_out": flags[STATUS_DROPPED_OUT],
            "in_progress": flags[STATUS_IN_PROGRESS], "exited": flags[STATUS_EXITED],
            "median_step_days": [median(1 + i) for i in range(steps)],
            "median_days": median(0),
        })
    table = pd.DataFrame(rows, columns=["key", "label", "steps", "patients", "completed", "dropped_out",
                                        "in_progress", "exited", "median_step_days", "median_days"])
    table["cohort"] = cohort
    table["share"] = table["patients"] / cohort if cohort else np.nan
    table["resolved"] = table["completed"] + table["dropped_out"]
    table["completion_rate"] = np.where(table["resolved"] > 0, table["completed"] / table["resolved"].clip(lower=1),
                                        np.nan)
    for column in ("patients", "completed", "dropped_out", "in_progress", "exited", "cohort", "resolved", "steps"):
        table[column] = table[column].astype("int64")
    return table
