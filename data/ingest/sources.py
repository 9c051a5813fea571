"""Reading the user's source files (read only) and turning their columns into contract
columns: renames, value maps, date formats, unit scale factors and constants.

CSV cells are read as text so codes and ids keep their exact spelling ("00123", "POS");
the contract's own parser types them afterwards. Row numbers in messages are 0-based data
rows, as in ``python -m data.validate``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from data.io import read_csv_text
from data.ingest.mapping import MappingError, TableSpec
from data.schema import Column
from data.validation import STRING_DTYPE, ContractError, Problem

MAX_EXAMPLES = 5


def rows(n: int) -> str:
    return f"{n:,} row{'s' if n != 1 else ''}"


def file_fingerprint(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return {"sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def _unreadable(path: Path, rule: str, message: str) -> ContractError:
    return ContractError([Problem(str(path), None, rule, message)])


def read_source(spec: TableSpec) -> pd.DataFrame:
    """The source file as a frame (CSV: every cell text, empty cells missing). Only reads."""
    path = spec.path
    if path.suffix.lower() == ".parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise _unreadable(path, "not_parquet", f"cannot be read as Parquet: {str(exc)[:200]}") from None
    else:
        df = read_csv_text(path, dtype=str, sep=spec.sep)
    if len(df) == 0:
        raise _unreadable(path, "empty_table", "the file has a header but no rows")
    df.columns = [str(c).strip() for c in df.columns]
    return df.reset_index(drop=True)


def check_source_columns(spec: TableSpec, df: pd.DataFrame, wanted: dict[str, str]) -> list[Problem]:
    """Problems for mapped source columns the file lacks; ``wanted`` is {where in mapping: source column}."""
    found = ", ".join(df.columns[:12]) + (", ..." if len(df.columns) > 12 else "")
    return [Problem(str(spec.path), source, "missing_column",
                    f"the mapping ({where}) names this column but the file has no such column (found: {found})")
            for where, source in wanted.items() if source not in df.columns]


def require_columns(spec: TableSpec, df: pd.DataFrame, wanted: dict[str, str]) -> None:
    problems = check_source_columns(spec, df, wanted)
    if problems:
        raise MappingError(problems)


# --------------------------------------------------------------------------- value transforms


def text(series: pd.Series) -> pd.Series:
    """Stripped text, missing where empty."""
    out = series.astype(STRING_DTYPE).str.strip()
    return out.where(out.ne(""))


def examples(df: pd.DataFrame, mask, columns: list[str]) -> list[str]:
    positions = np.flatnonzero(np.asarray(mask, dtype=bool))[:MAX_EXAMPLES]
    shown = [c for c in dict.fromkeys(columns) if c in df.columns]
    out = []
    for pos in positions:
        cells = []
        for col in shown:
            value = df[col].iloc[pos]
            cells.append(f"{col}=<empty>" if pd.isna(value) else f"{col}={str(value)[:40]!r}")
        out.append(f"row {df.index[pos]}: " + ", ".join(cells))
    return out


class SourceColumns:
    """Transforms on one source frame that record problems named by file and source column."""

    def __init__(self, spec: TableSpec, df: pd.DataFrame, id_column: str | None):
        self.spec, self.df = spec, df
        self.file = str(spec.path)
        self.id_column = id_column  # shown next to each offending value
        self.problems: list[Problem] = []

    def problem(self, source: str, rule: str, message: str, mask) -> None:
        shown = [self.id_column, source] if self.id_column else [source]
        self.problems.append(Problem(self.file, source, rule, message, examples(self.df, mask, shown)))

    def mapped(self, source: str, codes: dict[str, str], where: str) -> pd.Series:
        """Codes translated by a value map; every code present must be listed ("" = missing)."""
        raw = text(self.df[source])
        unknown = raw.notna() & ~raw.isin(list(codes))
        if unknown.any():
            counts = raw[unknown].value_counts()
            listed = ", ".join(f"{code!r} ({n:,} row{'s' if n != 1 else ''})" for code, n in counts.head(8).items())
            more = f" and {len(counts) - 8} more" if len(counts) > 8 else ""
            self.problem(source, "unknown_code",
                         f"{rows(int(unknown.sum()))}: codes that the value map {where} does not list: "
                         f"{listed}{more}. Add them to the map (\"\" for missing)", unknown)
        out = raw.map(codes)
        return out.where(out.ne("")).astype(STRING_DTYPE)

    def dates(self, values: pd.Series, source: str, fmt: str | None) -> pd.Series:
        """Dates by the given strptime format (ISO 8601 when none); unreadable ones are problems."""
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            out = values.dt.tz_localize(None) if isinstance(values.dtype, pd.DatetimeTZDtype) else values
            return out.astype("datetime64[ns]").dt.normalize()
        raw = text(values)
        parsed = pd.to_datetime(raw, format=fmt or "ISO8601", errors="coerce")
        bad = raw.notna() & parsed.isna()
        if bad.any():
            self.problem(source, "date_format",
                         f"{rows(int(bad.sum()))}: not a date in the format {fmt or 'YYYY-MM-DD'!r} "
                         f"(set date_format in the mapping)", bad)
        return parsed.astype("datetime64[ns]").dt.normalize()

    def numbers(self, values: pd.Series, source: str) -> pd.Series:
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
            return values.astype("float64")
        raw = text(values)
        parsed = pd.to_numeric(raw, errors="coerce").astype("float64")
        bad = raw.notna() & parsed.isna()
        if bad.any():
            self.problem(source, "type", f"{rows(int(bad.sum()))}: not a number", bad)
        return parsed

    def convert(self, col: Column, source: str, date_format: str | None = None) -> pd.Series:
        """One contract column from one source column, by the spec's value map, date format and scale."""
        values = self.df[source]
        codes = self.spec.values.get(col.name)
        if codes is not None:
            values = self.mapped(source, codes, f"[{self.spec.role}.values.{col.name}]")
        if col.kind == "date":
            return self.dates(values, source, date_format or self.spec.date_format)
        if col.name in self.spec.scale:
            return self.numbers(values, source) * self.spec.scale[col.name]
        return values


def convert_table(spec: TableSpec, df: pd.DataFrame, columns: tuple[Column, ...]) -> tuple[pd.DataFrame, list[Problem]]:
    """The source frame as contract-named columns (unmapped optional columns left out)."""
    source = SourceColumns(spec, df, spec.columns.get("patient_id"))
    out = {}
    for col in columns:
        if col.name in spec.columns:
            out[col.name] = source.convert(col, spec.columns[col.name])
        elif col.name in spec.constants:
            out[col.name] = pd.Series([spec.constants[col.name]] * len(df), index=df.index)
    return pd.DataFrame(out, index=df.index), source.problems
