"""A flat per-patient table (one row per patient, per-stage columns) turned into stage events.

A stage happened when its done flag says so or, without a flag, when it has a date (or a
day offset from enrollment). Dates are never invented: a flag saying done with no date
and no offset is an error, as is a date or result for a stage the flag says was not done.
Each event keeps its source row number as index, so problems point at the user's row.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data.ingest.mapping import StageSpec
from data.ingest.sources import SourceColumns, rows, text
from data.validation import FALSE_WORDS, STRING_DTYPE, TRUE_WORDS


def _flag(source: SourceColumns, spec: StageSpec) -> pd.Series:
    """The done flag as booleans; empty means not done."""
    codes = spec.values.get("done")
    if codes is not None:
        raw = source.mapped(spec.done, codes, f"[{spec.key[1:-1]}.values.done]").str.lower()
    else:
        raw = text(source.df[spec.done]).str.lower()
        unknown = raw.notna() & ~raw.isin(TRUE_WORDS | FALSE_WORDS)
        if unknown.any():
            source.problem(spec.done, "unknown_code",
                           f"{rows(int(unknown.sum()))}: neither yes nor no (read: Y/N, yes/no, true/false, 1/0); "
                           f"list the codes under [{spec.key[1:-1]}.values.done]", unknown)
    return raw.isin(TRUE_WORDS).fillna(False).astype(bool)


def _offset_dates(source: SourceColumns, spec: StageSpec, enrollment: pd.Series) -> pd.Series | None:
    if spec.day_offset is None:
        return None
    if isinstance(spec.day_offset, int):
        return enrollment + pd.Timedelta(days=spec.day_offset)
    days = source.numbers(source.df[spec.day_offset], spec.day_offset)
    bad = days.notna() & (days.ne(np.round(days)) | days.lt(0))
    if bad.any():
        source.problem(spec.day_offset, "day_offset", f"{rows(int(bad.sum()))}: not a whole, non-negative "
                       "number of days from enrollment", bad)
        days = days.where(~bad)
    return enrollment + pd.to_timedelta(days, unit="D")


def _date_sources(spec: StageSpec) -> str:
    columns = [repr(c) for c in (spec.date, spec.day_offset) if isinstance(c, str)]
    return " and ".join(columns)


def _date_fix(spec: StageSpec) -> str:
    if isinstance(spec.day_offset, str):
        return "Fill the date or the day offset"
    return f"Fill the date, or map day_offset (days from enrollment) under {spec.key}"


def _result(source: SourceColumns, spec: StageSpec) -> pd.Series:
    allowed = spec.results
    codes = spec.values.get("result")
    if codes is not None:
        return source.mapped(spec.result, codes, f"[{spec.key[1:-1]}.values.result]")
    raw = text(source.df[spec.result])
    bad = raw.notna() & ~raw.isin(allowed)
    if bad.any():
        source.problem(spec.result, "allowed_values",
                       f"{rows(int(bad.sum()))}: a {spec.stage} result other than {' or '.join(allowed)}; "
                       f"translate the codes under [{spec.key[1:-1]}.values.result]", bad)
    return raw.where(~bad)


def stage_events(source: SourceColumns, spec: StageSpec, patient_ids: pd.Series,
                 enrollment: pd.Series) -> pd.DataFrame:
    """The events of one stage (only the rows where it happened); problems go to ``source``."""
    fmt = spec.date_format or source.spec.date_format
    given = source.dates(source.df[spec.date], spec.date, fmt) if spec.date else None
    from_offset = _offset_dates(source, spec, enrollment)
    if given is None:
        dates = from_offset
    elif from_offset is None:
        dates = given
    else:  # a recorded date wins over the offset
        dates = given.fillna(from_offset)
    has_date = dates.notna()

    if spec.done:
        done = _flag(source, spec)
        missing = done & ~has_date
        if missing.any():
            source.problem(spec.done, "done_without_date",
                           f"{rows(int(missing.sum()))}: {spec.stage} marked done but no date given "
                           f"({_date_sources(spec)} empty): CarePath does not invent dates. {_date_fix(spec)}", missing)
        if given is not None:
            contradicted = ~done & given.notna()
            if contradicted.any():
                source.problem(spec.date, "date_without_done",
                               f"{rows(int(contradicted.sum()))}: a {spec.stage} date although "
                               f"{spec.done!r} says it was not done; correct one of the two", contradicted)
        happened = done & has_date
        claimed = done  # a row said done without a date is reported once, above
    else:
        happened = claimed = has_date

    columns = {"patient_id": patient_ids, "stage": pd.Series(spec.stage, index=patient_ids.index), "date": dates}
    if spec.results:
        result = _result(source, spec)
        orphan = result.notna() & ~claimed
        if orphan.any():
            source.problem(spec.result, "result_without_stage",
                           f"{rows(int(orphan.sum()))}: a {spec.stage} result, but the stage has no date or is "
                           "not marked done", orphan)
        missing = happened & result.isna()
        if missing.any():
            source.problem(spec.result, "missing_result",
                           f"{rows(int(missing.sum()))}: a {spec.stage} but no result "
                           f"({' or '.join(spec.results)} required)", missing)
        columns["result"] = result
    else:
        columns["result"] = pd.Series(pd.NA, index=patient_ids.index, dtype=STRING_DTYPE)
    for name in ("next_appointment_date", "next_appointment_booked_on"):
        source_column = getattr(spec, name)
        if source_column:
            booked = source.dates(source.df[source_column], source_column, fmt)
            orphan = booked.notna() & ~claimed
            if orphan.any():
                source.problem(source_column, "appointment_without_stage",
                               f"{rows(int(orphan.sum()))}: a booked next appointment but no "
                               f"{spec.stage} date", orphan)
            columns[name] = booked
    if spec.site:
        columns["site"] = source.df[spec.site]
    if spec.billed_cost:
        columns["billed_cost"] = source.df[spec.billed_cost]
    return pd.DataFrame(columns).loc[happened.to_numpy()]


def flat_events(source: SourceColumns, stages: dict[str, StageSpec], patient_ids: pd.Series,
                enrollment: pd.Series) -> pd.DataFrame:
    """All stage events of a flat table, ordered by source row then stage."""
    frames = [stage_events(source, spec, patient_ids, enrollment) for spec in stages.values()]
    events = pd.concat(frames)
    # Within a row the frames are already in stage order; a stable sort keeps it.
    order = np.argsort(events.index.to_numpy(), kind="stable")
    return events.iloc[order]
