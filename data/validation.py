"""Checks that tables meet the data contract in ``data.schema`` and parses raw values into typed columns.

Every check is vectorised, because it runs on a million patients, and every problem is
collected, so a user fixes their file once rather than once per error.  Row numbers in
the messages are 0-based data rows (the CSV header is not counted).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data.pathway import DEFAULT_PATHWAY, Pathway
from data.schema import EVENT_COLUMNS, PATIENT_COLUMNS, Column, table_columns

MAX_EXAMPLES = 5
STRING_DTYPE = pd.StringDtype(na_value=np.nan)
# How a flag column may say yes or no (case-insensitive).
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})


@dataclass(frozen=True)
class Problem:
    file: str
    column: str | None
    rule: str
    message: str
    examples: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        where = f"{self.file}, column {self.column!r}" if self.column else self.file
        lines = [f"{where} [{self.rule}]: {self.message}"]
        lines += [f"    {example}" for example in self.examples]
        return "\n".join(lines)


class ContractError(ValueError):
    """The data break the contract; ``problems`` lists every rule broken."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        n = len(self.problems)
        header = f"The data do not meet the CarePath data contract ({n} problem{'s' if n != 1 else ''}):"
        return "\n".join([header] + [f"  - {problem}" for problem in self.problems])

    def __str__(self) -> str:
        return self._render()


# --------------------------------------------------------------------------- examples


def _format_value(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "<empty>"
    if isinstance(value, pd.Timestamp):
        return f"'{value:%Y-%m-%d}'"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    return str(value)


def _examples(df: pd.DataFrame, mask, columns: list[str], raw: pd.DataFrame | None = None) -> list[str]:
    """Up to five short "row N: col=value" strings for the rows selected by ``mask``."""
    mask = np.asarray(mask, dtype=bool)
    positions = np.flatnonzero(mask)[:MAX_EXAMPLES]
    source = raw if raw is not None else df
    shown = [c for c in dict.fromkeys(columns) if c in source.columns]
    out = []
    for pos in positions:
        label = source.index[pos]
        parts = []
        for col in shown:
            value = source[col].iloc[pos]
            parts.append(f"{col}={value}" if col == "patient_id" and isinstance(value, str) else f"{col}={_format_value(value)}")
        out.append(f"row {label}: " + ", ".join(parts))
    return out


def _rows(n: int) -> str:
    return f"{n} row{'s' if n != 1 else ''}"


def _rows_verb(n: int, singular: str, plural: str) -> str:
    return f"{_rows(n)} {singular if n == 1 else plural}"


# --------------------------------------------------------------------------- coercion


def _present(series: pd.Series) -> pd.Series:
    """True where a raw value is given (not null, not an empty or blank string)."""
    present = series.notna()
    if series.dtype == object or isinstance(series.dtype, pd.StringDtype):
        text = series.astype(STRING_DTYPE)
        present &= text.str.strip().fillna("").ne("")
    return present


def _parse_column(raw: pd.Series, col: Column) -> pd.Series:
    """Parse one column; values that cannot be parsed become missing."""
    kind = col.kind
    if kind == "str":
        if raw.dtype == STRING_DTYPE:
            out = raw
        else:
            out = raw.astype(STRING_DTYPE)
        if raw.dtype == object or isinstance(raw.dtype, pd.StringDtype):
            stripped = out.str.strip()
            blank = stripped.eq("")
            if col.unknown_means_missing:
                blank |= stripped.str.lower().eq("unknown")
            out = out.where(~blank)
        return out
    if kind == "date":
        if isinstance(raw.dtype, pd.DatetimeTZDtype):
            out = raw.dt.tz_localize(None)
        elif pd.api.types.is_datetime64_dtype(raw.dtype):
            out = raw
        elif raw.dtype == object or isinstance(raw.dtype, pd.StringDtype):
            text = raw.astype(STRING_DTYPE).str.strip()
            out = pd.to_datetime(text, format="ISO8601", errors="coerce")
        else:  # numbers are not dates: refuse rather than guess an epoch
            out = pd.Series(pd.NaT, index=raw.index)
        return out.astype("datetime64[ns]").dt.normalize()
    if kind in ("int", "float"):
        if pd.api.types.is_bool_dtype(raw.dtype):
            numbers = pd.Series(np.nan, index=raw.index)
        elif pd.api.types.is_numeric_dtype(raw.dtype):
            numbers = raw.astype("float64")
        else:
            numbers = pd.to_numeric(raw.astype(STRING_DTYPE).str.strip(), errors="coerce").astype("float64")
        numbers = numbers.where(np.isfinite(numbers))
        if kind == "float":
            return numbers
        numbers = numbers.where(numbers.eq(np.round(numbers)))
        if numbers.notna().all():
            return numbers.astype("int64")
        return numbers.astype("Int64")
    if kind == "bool":
        if pd.api.types.is_bool_dtype(raw.dtype) and raw.notna().all():
            return raw.astype(bool)
        text = raw.astype(STRING_DTYPE).str.strip().str.lower()
        out = pd.Series(pd.NA, index=raw.index, dtype="boolean")
        out[text.isin(TRUE_WORDS).to_numpy()] = True
        out[text.isin(FALSE_WORDS).to_numpy()] = False
        if out.notna().all():
            return out.astype(bool)
        return out
    raise ValueError(f"unknown column kind {kind!r} for {col.name}")


_KIND_HELP = {
    "date": "a date (YYYY-MM-DD)",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "str": "text",
}


def coerce_table(df: pd.DataFrame, columns: tuple[Column, ...], source: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Parse ``df`` into the contract's types.

    Returns the typed frame with the contract's columns in contract order (extra columns
    dropped, missing ones left out) and the problems found while parsing: missing
    required columns, values that do not parse, and empty values in non-nullable columns.
    """
    problems: list[Problem] = []
    typed = {}
    if len(df.columns) and not any(col.name in df.columns for col in columns):
        # One problem, not one per column: most likely the wrong file or not a CSV at all.
        expected = ", ".join(col.name for col in columns if col.required)
        found = ", ".join(str(c)[:30] for c in df.columns[:5])
        problems.append(Problem(source, None, "missing_column",
                                f"none of the expected columns are present (found: {found}); expected {expected}"))
        return pd.DataFrame(index=df.index), problems
    for col in columns:
        if col.name not in df.columns:
            if col.required:
                problems.append(Problem(source, col.name, "missing_column",
                                        f"required column is missing (found: {', '.join(map(str, df.columns)) or 'none'})"))
            continue
        raw = df[col.name]
        parsed = _parse_column(raw, col)
        given = _present(raw)
        if col.unknown_means_missing and (raw.dtype == object or isinstance(raw.dtype, pd.StringDtype)):
            given &= ~raw.astype(STRING_DTYPE).str.strip().str.lower().eq("unknown").fillna(False)
        unparsed = given & parsed.isna()
        if unparsed.any():
            problems.append(Problem(
                source, col.name, "type",
                f"{_rows(int(unparsed.sum()))} cannot be read as {_KIND_HELP[col.kind]}",
                _examples(df, unparsed, ["patient_id", col.name], raw=df)))
        if not col.nullable:
            empty = ~given
            if empty.any():
                problems.append(Problem(source, col.name, "not_null",
                                        f"{_rows_verb(int(empty.sum()), 'has', 'have')} no value; this column may not be empty",
                                        _examples(df, empty, ["patient_id", col.name], raw=df)))
        typed[col.name] = parsed
    out = pd.DataFrame(typed, index=df.index)
    return out, problems


# --------------------------------------------------------------------------- checks


def check_values(df: pd.DataFrame, columns: tuple[Column, ...], source: str) -> list[Problem]:
    """Allowed values and min/max bounds on an already typed table."""
    problems = []
    for col in columns:
        if col.name not in df.columns:
            continue
        series = df[col.name]
        if col.allowed is not None:
            bad = series.notna() & ~series.isin(col.allowed)
            if bad.any():
                problems.append(Problem(
                    source, col.name, "allowed_values",
                    f"{_rows_verb(int(bad.sum()), 'has', 'have')} a value outside the allowed set "
                    f"({', '.join(map(str, col.allowed))})",
                    _examples(df, bad, ["patient_id", col.name])))
        if col.min_value is not None or col.max_value is not None:
            numbers = series.astype("float64")
            bad = pd.Series(False, index=df.index)
            if col.min_value is not None:
                bad |= numbers.lt(col.min_value).fillna(False)
            if col.max_value is not None:
                bad |= numbers.gt(col.max_value).fillna(False)
            if bad.any():
                lo = "-inf" if col.min_value is None else f"{col.min_value:g}"
                hi = "inf" if col.max_value is None else f"{col.max_value:g}"
                problems.append(Problem(source, col.name, "range",
                                        f"{_rows_verb(int(bad.sum()), 'lies', 'lie')} outside [{lo}, {hi}]",
                                        _examples(df, bad, ["patient_id", col.name])))
    return problems


def _has(df: pd.DataFrame, *names: str) -> bool:
    return all(name in df.columns for name in names)


def _check_empty(df: pd.DataFrame, source: str) -> list[Problem]:
    if len(df) == 0:
        return [Problem(source, None, "empty_table", "the table has no rows")]
    return []


def _check_after_as_of(df: pd.DataFrame, column: str, as_of, source: str, extra: list[str]) -> list[Problem]:
    if as_of is None or pd.isna(as_of) or column not in df.columns:
        return []
    bad = df[column].gt(pd.Timestamp(as_of).normalize()).fillna(False)
    if not bad.any():
        return []
    return [Problem(source, column, "after_as_of",
                    f"{_rows_verb(int(bad.sum()), 'is', 'are')} dated after the as-of date {pd.Timestamp(as_of):%Y-%m-%d}",
                    _examples(df, bad, ["patient_id", *extra, column]))]


def _check_patients(patients: pd.DataFrame, as_of, source: str, pathway: Pathway) -> list[Problem]:
    problems = check_values(patients, table_columns("patients", pathway), source)
    problems += _check_after_as_of(patients, "enrollment_date", as_of, source, [])
    return problems


def _codes(series: pd.Series, categories: tuple) -> np.ndarray:
    """Position of each value in ``categories``; -1 for missing or unknown values."""
    return pd.Index(categories).get_indexer(series).astype(np.int64)


class _PatientIndex:
    """Patient ids of both tables as integer codes, so joins are array lookups.

    Arrow-backed string ``isin``/``reindex`` are slow on a million ids; one
    ``factorize`` and numpy indexing keep the checks at a few seconds.
    """

    def __init__(self, patient_ids: pd.Series, event_ids: pd.Series):
        codes, uniques = pd.factorize(pd.concat([patient_ids, event_ids], ignore_index=True))
        self.size = len(uniques)
        self.patient_codes = codes[: len(patient_ids)]
        self.event_codes = codes[len(patient_ids):]

    def first_values(self, codes: np.ndarray, mask: np.ndarray, values: np.ndarray, fill):
        """Per patient code: the value of the first row selected by ``mask`` (``fill`` if none), and whether one exists."""
        rows = np.flatnonzero(mask & (codes >= 0))[::-1]  # reversed, so the first row is written last
        out = np.full(self.size, fill, dtype=values.dtype)
        out[codes[rows]] = values[rows]
        found = np.zeros(self.size, dtype=bool)
        found[codes[rows]] = True
        return out, found

    def lookup(self, table: np.ndarray, codes: np.ndarray, fill):
        """``table[code]`` for each row, ``fill`` where the id is missing."""
        out = table[np.maximum(codes, 0)]
        return np.where(codes >= 0, out, fill)


def _check_events(events: pd.DataFrame, patients: pd.DataFrame, as_of, source: str,
                  patients_source: str, pathway: Pathway) -> list[Problem]:
    problems = check_values(events, table_columns("events", pathway), source)
    problems += _check_after_as_of(events, "date", as_of, source, ["stage"])
    if not (_has(events, "patient_id") and _has(patients, "patient_id")):
        return problems

    index = _PatientIndex(patients["patient_id"], events["patient_id"])
    pcodes, ecodes = index.patient_codes, index.event_codes

    dup = (pcodes >= 0) & pd.Series(pcodes).duplicated(keep=False).to_numpy()
    if dup.any():
        problems.append(Problem(patients_source, "patient_id", "duplicate_id",
                                f"{len(np.unique(pcodes[dup]))} patient ids appear more than once "
                                f"({_rows(int(dup.sum()))})",
                                _examples(patients, dup, ["patient_id"])))

    in_patients = np.zeros(index.size, dtype=bool)
    in_patients[pcodes[pcodes >= 0]] = True
    orphan = (ecodes >= 0) & ~index.lookup(in_patients, ecodes, False)
    if orphan.any():
        problems.append(Problem(source, "patient_id", "unknown_patient",
                                f"{_rows_verb(int(orphan.sum()), 'refers', 'refer')} to patients not in the patients table",
                                _examples(events, orphan, ["patient_id", "stage"])))

    if not _has(events, "stage"):
        return problems
    stages = pathway.stage_names
    stage_code = _codes(events["stage"], stages)
    known = (stage_code >= 0) & (ecodes >= 0)
    is_stage = {name: known & (stage_code == i) for i, name in enumerate(stages)}

    dup = known & pd.Series(ecodes * len(stages) + stage_code).duplicated(keep="first").to_numpy()
    if dup.any():
        problems.append(Problem(source, "stage", "duplicate_stage",
                                f"{_rows_verb(int(dup.sum()), 'repeats', 'repeat')} a stage the patient already has "
                                "(at most one event per stage per patient)",
                                _examples(events, dup, ["patient_id", "stage", "date"])))

    if not _has(events, "result") and pathway.results:
        with_results = [stage.name for stage in pathway.stages if stage.has_results]
        problems.append(Problem(source, "result", "missing_column",
                                f"required column is missing: the pathway gives {', '.join(with_results)} a result "
                                f"({', '.join(pathway.results)})"))
    if _has(events, "result"):
        results = pathway.results
        result_code = _codes(events["result"], results)
        result_missing = events["result"].isna().to_numpy()
        judged = known & (result_missing | (result_code >= 0))
        for stage in pathway.stages:
            name, allowed = stage.name, stage.results
            at_stage = judged & is_stage[name]
            if allowed:
                ok = np.isin(result_code, [results.index(r) for r in allowed])
                bad = at_stage & ~ok
                expected = f"{name} must have a result of {' or '.join(allowed)}"
            else:
                bad = at_stage & ~result_missing
                expected = f"{name} must have no result"
            if bad.any():
                problems.append(Problem(source, "result", "result_stage_mismatch",
                                        f"{_rows(int(bad.sum()))}: {expected}",
                                        _examples(events, bad, ["patient_id", "stage", "result"])))

        for later, earlier in pathway.previous_stage.items():
            at_stage = is_stage[later]
            if not at_stage.any():
                continue
            earlier_result, has_earlier = index.first_values(ecodes, is_stage[earlier], result_code, -1)
            needed = pathway.stage(earlier).leads_on
            if not needed:
                ok = index.lookup(has_earlier, ecodes, False)
                requirement = f"a {later} event requires a {earlier} event"
            else:
                ok = np.isin(index.lookup(earlier_result, ecodes, -1), [results.index(r) for r in needed])
                requirement = f"a {later} event requires a {earlier} with result {' or '.join(needed)}"
            bad = at_stage & ~ok
            if bad.any():
                problems.append(Problem(source, "stage", "missing_prerequisite",
                                        f"{_rows_verb(int(bad.sum()), 'breaks', 'break')} the pathway: {requirement}",
                                        _examples(events, bad, ["patient_id", "stage", "date"])))

    if not _has(events, "date"):
        return problems
    nat = np.datetime64("NaT", "ns")
    dates = events["date"].to_numpy("datetime64[ns]")
    for later, earlier in pathway.previous_stage.items():
        at_stage = is_stage[later]
        if not at_stage.any():
            continue
        earlier_date, _ = index.first_values(ecodes, is_stage[earlier], dates, nat)
        bad = at_stage & (dates < index.lookup(earlier_date, ecodes, nat))
        if bad.any():
            problems.append(Problem(source, "date", "stage_order",
                                    f"{_rows(int(bad.sum()))}: {later} is dated before the patient's {earlier}",
                                    _examples(events, bad, ["patient_id", "stage", "date"])))
    if _has(patients, "enrollment_date"):
        enrolled, _ = index.first_values(pcodes, np.ones(len(pcodes), dtype=bool),
                                         patients["enrollment_date"].to_numpy("datetime64[ns]"), nat)
        first = pathway.first_stage
        bad = is_stage[first] & (dates < index.lookup(enrolled, ecodes, nat))
        if bad.any():
            problems.append(Problem(source, "date", "stage_order",
                                    f"{_rows(int(bad.sum()))}: {first} is dated before the patient's enrollment_date",
                                    _examples(events, bad, ["patient_id", "stage", "date"])))
    if _has(events, "next_appointment_date"):
        nxt = events["next_appointment_date"].to_numpy("datetime64[ns]")
        bad = ~np.isnat(nxt) & ~np.isnat(dates) & (nxt <= dates)
        if bad.any():
            problems.append(Problem(source, "next_appointment_date", "next_appointment_order",
                                    f"{_rows_verb(int(bad.sum()), 'books', 'book')} the next appointment on or before the event date",
                                    _examples(events, bad, ["patient_id", "stage", "date", "next_appointment_date"])))
    return problems


def _among(values: pd.Series, known: pd.Series) -> np.ndarray:
    """values.isin(known) as a boolean array, missing values False, through Arrow's hash look-up:
    pandas' isin on Arrow-backed strings turns all the known values into a Python list first
    (8 s of every start at 1M patients, against 0.4 s)."""
    found = pc.is_in(pa.array(values, type=pa.string()), value_set=pa.array(known.dropna(), type=pa.string()))
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False).astype(bool)


def check_outreach(outreach: pd.DataFrame, patients: pd.DataFrame, as_of, source: str = "outreach",
                   pathway: Pathway = DEFAULT_PATHWAY) -> list[Problem]:
    """The outreach log's rules on a typed table: dispositions and awaited stages from the
    allowed sets, attempts not after the as-of date, patients in the patients table."""
    problems = _check_empty(outreach, source)
    columns = table_columns("outreach", pathway)
    problems += check_values(outreach, columns, source)
    problems += _check_after_as_of(outreach, "date", as_of, source, ["awaited_stage"])
    if _has(outreach, "patient_id") and _has(patients, "patient_id"):
        referenced = outreach["patient_id"]
        orphan = referenced.notna().to_numpy() & ~_among(referenced, patients["patient_id"])
        if orphan.any():
            problems.append(Problem(source, "patient_id", "unknown_patient",
                                    f"{_rows_verb(int(orphan.sum()), 'refers', 'refer')} to patients not in the "
                                    "patients table", _examples(outreach, orphan, ["patient_id", "date"])))
    return problems


def validate_outreach(outreach: pd.DataFrame, patients: pd.DataFrame, as_of, source: str = "<memory>/outreach",
                      pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """Type an outreach log by the contract and raise ``ContractError`` listing every rule it breaks;
    return the typed table."""
    typed, problems = coerce_table(outreach, table_columns("outreach", pathway), source)
    problems += check_outreach(typed, patients, as_of, source, pathway)
    if problems:
        raise ContractError(problems)
    return typed


def check_typed_tables(patients: pd.DataFrame, events: pd.DataFrame, as_of,
                       patients_file: str = "patients", events_file: str = "events",
                       pathway: Pathway = DEFAULT_PATHWAY) -> list[Problem]:
    """Every contract rule on already typed tables (see ``coerce_table``); returns the problems."""
    problems = _check_empty(patients, patients_file) + _check_empty(events, events_file)
    problems += _check_patients(patients, as_of, patients_file, pathway)
    problems += _check_events(events, patients, as_of, events_file, patients_file, pathway)
    return problems


def validate_tables(patients: pd.DataFrame, events: pd.DataFrame, as_of, source: str = "<memory>",
                    pathway: Pathway = DEFAULT_PATHWAY) -> None:
    """Raise ``ContractError`` listing every contract rule the two tables break.

    ``source`` names where the tables came from (a directory); problems name
    ``<source>/patients`` and ``<source>/events``.
    """
    patients_file, events_file = f"{source}/patients", f"{source}/events"
    typed_patients, problems = coerce_table(patients, PATIENT_COLUMNS, patients_file)
    typed_events, event_problems = coerce_table(events, EVENT_COLUMNS, events_file)
    problems += event_problems
    problems += check_typed_tables(typed_patients, typed_events, as_of, patients_file, events_file, pathway)
    if problems:
        raise ContractError(problems)
