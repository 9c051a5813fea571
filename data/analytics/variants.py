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


def journey_variants(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY, top: int = 10) -> pd.DataFrame:
    """The ``top`` most common variants and one "Other variants" row, so the rows add up to
    the cohort. Columns: key, label, steps, patients, cohort (all patients: the share's
    denominator), share, completed, dropped_out, in_progress, exited, resolved
    (completed + dropped out: the completion rate's denominator), completion_rate,
    median_step_days (list: enrollment → first step, then between steps), median_days
    (enrollment → the last step). Counts are plain integer columns built here only."""
    codes, days = _step_codes(frame, pathway)
    variant = _combine(codes, _base(pathway))
    enrolled = pd.to_datetime(frame["enrollment_date"]).to_numpy("datetime64[D]").astype("int64")
    has_step = codes > 0
    previous = np.concatenate([enrolled[:, None], days[:, :-1]], axis=1)
    gaps = np.where(has_step, days - previous, np.nan).astype(float)
    last = np.where(has_step.any(axis=1), np.where(has_step, days, np.iinfo("int64").min).max(axis=1), 0)
    duration = np.where(has_step.any(axis=1), last - enrolled, np.nan).astype(float)
    status = frame["status"].to_numpy()

    work = pd.DataFrame({"variant": variant, "duration": duration,
                         **{f"gap_{i}": gaps[:, i] for i in range(gaps.shape[1])},
                         **{s: status == s for s in (STATUS_COMPLETED, STATUS_DROPPED_OUT, STATUS_IN_PROGRESS,
                                                     STATUS_EXITED)}})
    counts = work["variant"].value_counts(sort=False)
    # Most patients first; ties broken by the code so the order is stable.
    ranked = sorted(counts.index, key=lambda c: (-counts[c], c))
    kept = ranked[:top]
    work["group"] = np.where(work["variant"].isin(kept), work["variant"], -1)
    grouped = work.groupby("group", sort=False)
    flags = grouped[[STATUS_COMPLETED, STATUS_DROPPED_OUT, STATUS_IN_PROGRESS, STATUS_EXITED]].sum()
    medians = grouped[["duration", *(f"gap_{i}" for i in range(gaps.shape[1]))]].median()
    rows = []
    for group in [*kept, *([-1] if len(ranked) > top else [])]:
        steps = len(_code_tokens(group, pathway)) if group >= 0 else 0
        completed, dropped = int(flags.loc[group, STATUS_COMPLETED]), int(flags.loc[group, STATUS_DROPPED_OUT])
        rows.append({
            "key": variant_key(group, pathway) if group >= 0 else OTHER,
            "label": variant_label(group, pathway) if group >= 0 else f"{OTHER_LABEL} ({len(ranked) - top})",
            "steps": steps,
            "patients": int(grouped.size()[group]),
            "completed": completed, "dropped_out": dropped,
            "in_progress": int(flags.loc[group, STATUS_IN_PROGRESS]),
            "exited": int(flags.loc[group, STATUS_EXITED]),
            "median_step_days": [None if pd.isna(v) else float(v)
                                 for v in medians.loc[group, [f"gap_{i}" for i in range(steps)]]],
            "median_days": None if pd.isna(medians.loc[group, "duration"]) else float(medians.loc[group, "duration"]),
        })
    table = pd.DataFrame(rows, columns=["key", "label", "steps", "patients", "completed", "dropped_out",
                                        "in_progress", "exited", "median_step_days", "median_days"])
    table["cohort"] = len(frame)
    table["share"] = table["patients"] / len(frame) if len(frame) else np.nan
    table["resolved"] = table["completed"] + table["dropped_out"]
    table["completion_rate"] = np.where(table["resolved"] > 0, table["completed"] / table["resolved"].clip(lower=1),
                                        np.nan)
    for column in ("patients", "completed", "dropped_out", "in_progress", "exited", "cohort", "resolved", "steps"):
        table[column] = table[column].astype("int64")
    return table
