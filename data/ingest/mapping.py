"""The mapping file: which source file and column holds each contract column, and how its
values are translated. Parsed from TOML and checked before any data is read.

Every mistake is collected (not just the first), each named by its place in the mapping
file, so the user fixes the file once.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from data.pathway import DEFAULT_PATHWAY, Pathway, PathwayError, load_pathway
from data.schema import Column, table_columns
from data.validation import ContractError, Problem

LAYOUTS = ("flat", "events")
SOURCE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet")

# The appointment extract is an ingest-only input (not a CarePath table): one row per booked
# appointment, from which ingest takes each decision event's FIRST booking.
APPOINTMENT_COLUMNS = (
    Column("patient_id", "str"),
    Column("stage", "str", allowed=DEFAULT_PATHWAY.decision_stages,
           description="The stage the appointment is for (a stage reached through a booking)."),
    Column("booked_on", "date", description="Day the appointment was booked."),
    Column("appointment_date", "date", description="Day the appointment was booked for."),
    Column("status", "str", required=False, nullable=True,
           description="e.g. scheduled, rescheduled, cancelled, attended; reported, never used to pick the booking."),
)
def role_columns(role: str, pathway: Pathway) -> tuple[Column, ...]:
    """The contract columns a source file in ``role`` maps to, with the pathway's programs, stages, results."""
    if role == "appointments":
        return tuple(replace(c, allowed=pathway.decision_stages) if c.name == "stage" else c
                     for c in APPOINTMENT_COLUMNS)
    return table_columns(role, pathway)
# Contract columns a constant may not stand in for: an identity or a date must come from the data.
NO_CONSTANT = {"patient_id", "enrollment_date", "date", "next_appointment_date", "next_appointment_booked_on",
               "booked_on", "appointment_date"}

TOP_KEYS = {"layout", "as_of", "description", "pathway", "patients", "events", "stages", "appointments"}
TABLE_KEYS = {"file", "sep", "date_format", "columns", "constants", "values", "scale"}
STAGE_KEYS = {"date", "done", "day_offset", "result", "next_appointment_date", "next_appointment_booked_on",
              "site", "billed_cost", "values", "date_format"}
STAGE_SOURCE_KEYS = ("date", "done", "result", "next_appointment_date", "next_appointment_booked_on",
                     "site", "billed_cost")


@dataclass(frozen=True)
class MappingProblem(Problem):
    """A problem in the mapping file: ``column`` holds the setting's place (e.g. patients.values.sex)."""

    def __str__(self) -> str:
        where = f"{self.file}, setting {self.column}" if self.column else self.file
        return "\n".join([f"{where} [{self.rule}]: {self.message}"] + [f"    {e}" for e in self.examples])


class MappingError(ContractError):
    """The mapping file (or a file it names) cannot be used; nothing was converted."""

    def _render(self) -> str:
        n = len(self.problems)
        header = f"The mapping cannot be used ({n} problem{'s' if n != 1 else ''}):"
        return "\n".join([header] + [f"  - {problem}" for problem in self.problems])


@dataclass
class TableSpec:
    """One source file and how its columns become contract columns."""
    role: str  # patients, events or appointments
    file: str  # as written in the mapping
    path: Path  # resolved against the mapping file's folder
    sep: str = ","
    date_format: str | None = None  # None: ISO 8601 (YYYY-MM-DD)
    columns: dict[str, str] = field(default_factory=dict)  # contract column -> source column
    constants: dict[str, object] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # contract column -> {code: value}
    scale: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"[{self.role}]"


@dataclass
class StageSpec:
    """Per-stage columns of a flat per-patient table (all in the patients file)."""
    stage: str
    results: tuple[str, ...] = ()  # the results the pathway gives this stage (empty: none)
    date: str | None = None
    done: str | None = None
    day_offset: str | int | None = None  # a column of days from enrollment, or a fixed number of days
    result: str | None = None
    next_appointment_date: str | None = None
    next_appointment_booked_on: str | None = None
    site: str | None = None
    billed_cost: str | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # "result" / "done" -> {code: value}
    date_format: str | None = None

    @property
    def key(self) -> str:
        return f"[stages.{self.stage}]"

    def source_columns(self) -> list[str]:
        columns = [getattr(self, name) for name in STAGE_SOURCE_KEYS]
        if isinstance(self.day_offset, str):
            columns.append(self.day_offset)
        return [c for c in columns if c]


@dataclass
class Mapping:
    path: Path
    raw: dict  # the TOML as read, recorded in the manifest
    layout: str
    as_of: pd.Timestamp | None
    patients: TableSpec
    events: TableSpec | None = None
    stages: dict[str, StageSpec] = field(default_factory=dict)
    appointments: TableSpec | None = None
    pathway: Pathway = DEFAULT_PATHWAY  # the mapping's `pathway = "pathway.toml"`, else the default
    pathway_file: Path | None = None

    def appointment_columns(self) -> tuple[Column, ...]:
        """The appointment extract's columns, its stages those the pathway books."""
        return role_columns("appointments", self.pathway)

    def tables(self) -> list[TableSpec]:
        return [t for t in (self.patients, self.events, self.appointments) if t is not None]


# --------------------------------------------------------------------------- parsing


class _Checker:
    def __init__(self, path: Path):
        self.path = path
        self.problems: list[Problem] = []

    def add(self, where: str, rule: str, message: str) -> None:
        self.problems.append(MappingProblem(str(self.path), where, rule, message))

    def table(self, value, where: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(where, "mapping_type", f"must be a table ({where} = {{...}}), not {type(value).__name__}")
            return {}
        return value

    def text(self, value, where: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(where, "mapping_type", f"must be a non-empty string, not {value!r}")
            return None
        return value

    def unknown_keys(self, table: dict, allowed: set, where: str) -> None:
        for key in sorted(set(table) - allowed):
            self.add(f"{where}.{key}" if where else key, "unknown_key",
                     f"unknown setting; expected one of: {', '.join(sorted(allowed))}")


def _check_date_format(check: _Checker, fmt, where: str) -> str | None:
    fmt = check.text(fmt, where)
    if fmt is None:
        return None
    try:
        sample = dt.datetime(2024, 12, 31).strftime(fmt)
        dt.datetime.strptime(sample, fmt)
    except ValueError as exc:
        check.add(where, "date_format", f"{fmt!r} is not a usable strptime format ({exc}); e.g. \"%m/%d/%Y\"")
        return None
    return fmt


def _allowed_target(col: Column, value: str) -> bool:
    return value == "" or col.allowed is None or value in col.allowed


def _value_map(check: _Checker, raw, col: Column, where: str) -> dict[str, str]:
    """{source code: contract value}; "" means the code stands for a missing value."""
    table = check.table(raw, where)
    out = {}
    for code, value in table.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str):
            check.add(f"{where}.{code}", "mapping_type", f"must map to a string, not {value!r}")
            continue
        if not _allowed_target(col, value):
            check.add(f"{where}.{code}", "allowed_values",
                      f"{value!r} is not a value of {col.name} ({', '.join(col.allowed)}, or \"\" for missing)")
            continue
        out[code.strip()] = value
    return out


def _parse_table(check: _Checker, raw, role: str, folder: Path, pathway: Pathway) -> TableSpec | None:
    where = role
    table = check.table(raw, where)
    if not table:
        check.add(where, "missing_table", f"the mapping needs a [{role}] table with file = \"...\"")
        return None
    check.unknown_keys(table, TABLE_KEYS, where)
    contract = {c.name: c for c in role_columns(role, pathway)}
    file = check.text(table.get("file"), f"{where}.file")
    if file is None:
        if "file" not in table:
            check.add(f"{where}.file", "missing_key", "name the source file (path relative to the mapping file)")
        return None
    spec = TableSpec(role, file, (folder / file).resolve())
    if spec.path.suffix.lower() not in SOURCE_SUFFIXES:
        check.add(f"{where}.file", "file_type", f"{file!r}: expected a .csv (or .tsv/.txt) or .parquet file")
    sep = table.get("sep", "\t" if spec.path.suffix.lower() == ".tsv" else ",")
    if not isinstance(sep, str) or len(sep) != 1:
        check.add(f"{where}.sep", "mapping_type", f"must be a single character, not {sep!r}")
    else:
        spec.sep = sep
    spec.date_format = _check_date_format(check, table.get("date_format"), f"{where}.date_format")

    for name, source in check.table(table.get("columns"), f"{where}.columns").items():
        if name not in contract:
            check.add(f"{where}.columns.{name}", "unknown_column",
                      f"{name!r} is not a {role} column of the contract ({', '.join(contract)})")
        elif check.text(source, f"{where}.columns.{name}") is not None:
            spec.columns[name] = source
    for name, value in check.table(table.get("constants"), f"{where}.constants").items():
        at = f"{where}.constants.{name}"
        col = contract.get(name)
        if col is None:
            check.add(at, "unknown_column", f"{name!r} is not a {role} column of the contract")
        elif name in NO_CONSTANT:
            check.add(at, "constant_not_allowed", f"{name} must come from the data, not a constant")
        elif name in spec.columns:
            check.add(at, "mapped_twice", f"{name} is both a column ({spec.columns[name]!r}) and a constant")
        elif isinstance(value, (dict, list)):
            check.add(at, "mapping_type", f"must be a single value, not {value!r}")
        elif col.allowed is not None and value not in col.allowed:
            check.add(at, "allowed_values", f"{value!r} is not a value of {name} ({', '.join(col.allowed)})")
        else:
            spec.constants[name] = value
    for name, raw_map in check.table(table.get("values"), f"{where}.values").items():
        at = f"{where}.values.{name}"
        if name not in spec.columns:
            check.add(at, "unmapped_column", f"a value map for {name!r}, which is not under {where}.columns")
        else:
            spec.values[name] = _value_map(check, raw_map, contract[name], at)
    for name, factor in check.table(table.get("scale"), f"{where}.scale").items():
        at = f"{where}.scale.{name}"
        if name not in spec.columns:
            check.add(at, "unmapped_column", f"a scale factor for {name!r}, which is not under {where}.columns")
        elif contract[name].kind not in ("int", "float"):
            check.add(at, "not_numeric", f"{name} is not a number column; only numbers can be scaled")
        elif isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 0:
            check.add(at, "mapping_type", f"must be a positive number (source value x factor), not {factor!r}")
        else:
            spec.scale[name] = float(factor)

    given = set(spec.columns) | set(spec.constants)
    for col in role_columns(role, pathway):
        if col.required and col.name not in given:
            how = "a column" if col.name in NO_CONSTANT else "a column or a constant"
            check.add(f"{where}.columns", "missing_required",
                      f"the contract requires {col.name}: map it to {how}")
    return spec


def _parse_stage(check: _Checker, stage: str, raw, pathway: Pathway) -> StageSpec | None:
    where = f"stages.{stage}"
    table = check.table(raw, where)
    check.unknown_keys(table, STAGE_KEYS, where)
    spec = StageSpec(stage, pathway.stage(stage).results)
    for key in STAGE_SOURCE_KEYS:
        setattr(spec, key, check.text(table.get(key), f"{where}.{key}"))
    offset = table.get("day_offset")
    if isinstance(offset, bool) or (offset is not None and not isinstance(offset, (str, int))):
        check.add(f"{where}.day_offset", "mapping_type",
                  "must name a column of days from enrollment, or be a whole number of days")
    elif isinstance(offset, int) and offset < 0:
        check.add(f"{where}.day_offset", "mapping_type", "a stage cannot happen before enrollment")
    else:
        spec.day_offset = offset
    spec.date_format = _check_date_format(check, table.get("date_format"), f"{where}.date_format")

    if spec.date is None and spec.day_offset is None:
        if spec.done is not None:
            check.add(where, "done_without_date",
                      "a done flag alone cannot place the stage in time, and CarePath does not invent dates: "
                      "also map date = \"<date column>\" or day_offset (days from enrollment)")
        else:
            check.add(where, "missing_date", "map date = \"<date column>\" or day_offset (days from enrollment)")
    results = spec.results
    if results and spec.result is None:
        check.add(f"{where}.result", "missing_required",
                  f"{stage} needs a result column ({' or '.join(results)})")
    if not results and spec.result is not None:
        check.add(f"{where}.result", "no_result", f"{stage} carries no result in the pathway; remove this line")
    values = check.table(table.get("values"), f"{where}.values")
    for name, raw_map in values.items():
        at = f"{where}.values.{name}"
        if name == "result" and results:
            col = Column("result", "str", allowed=results)
        elif name == "done":
            col = Column("done", "bool", allowed=("true", "false"))
        else:
            check.add(at, "unknown_key", "value maps here are for result and done")
            continue
        if getattr(spec, name) is None:
            check.add(at, "unmapped_column", f"a value map for {name}, but {where}.{name} names no column")
            continue
        spec.values[name] = _value_map(check, raw_map, col, at)
    return spec


def _parse_as_of(check: _Checker, value) -> pd.Timestamp | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return pd.Timestamp(value).normalize()
    if isinstance(value, dt.date):
        return pd.Timestamp(value)
    parsed = pd.to_datetime(str(value), format="%Y-%m-%d", errors="coerce")
    if pd.isna(parsed):
        check.add("as_of", "as_of", f"{value!r} is not a date; write as_of = 2026-09-30")
        return None
    return pd.Timestamp(parsed)


def _parse_pathway(check: _Checker, value, folder: Path) -> tuple[Pathway, Path | None]:
    """``pathway = "pathway.toml"``: the dataset's own pathway definition (docs/pathway.md).
    On a problem the default stands in, so the rest of the mapping is still checked."""
    if not isinstance(value, str) or not value.strip():
        check.add("pathway", "mapping_type", "pathway = \"<file>.toml\", relative to the mapping file")
        return DEFAULT_PATHWAY, None
    path = (folder / value).resolve()
    if not path.is_file():
        check.add("pathway", "missing_file", f"{value!r} not found (looked for {path})")
        return DEFAULT_PATHWAY, None
    try:
        return load_pathway(path), path
    except PathwayError as exc:
        check.add("pathway", "pathway", str(exc))
        return DEFAULT_PATHWAY, None


def load_mapping(path) -> Mapping:
    """Read and check a mapping file; raise ``MappingError`` listing every mistake.

    Source files are only checked to exist here; their columns are checked on reading.
    """
    path = Path(path)
    if not path.is_file():
        raise MappingError([Problem(str(path), None, "missing_file", "the mapping file does not exist")])
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise MappingError([Problem(str(path), None, "encoding", "the mapping file is not UTF-8 text")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError([Problem(str(path), None, "toml", f"not valid TOML: {exc}")]) from None

    check = _Checker(path)
    check.unknown_keys(raw, TOP_KEYS, "")
    layout = raw.get("layout")
    if layout not in LAYOUTS:
        check.add("layout", "layout", f"layout = \"flat\" (one row per patient with per-stage columns) or "
                                      f"\"events\" (one row per stage event), not {layout!r}")
    folder = path.resolve().parent
    pathway, pathway_file = _parse_pathway(check, raw["pathway"], folder) if "pathway" in raw else (DEFAULT_PATHWAY,
                                                                                                    None)
    patients = _parse_table(check, raw.get("patients"), "patients", folder, pathway)
    mapping = Mapping(path, raw, layout, _parse_as_of(check, raw.get("as_of")), patients,
                      pathway=pathway, pathway_file=pathway_file)
    stage_names = pathway.stage_names

    if layout == "events":
        mapping.events = _parse_table(check, raw.get("events"), "events", folder, pathway)
        if "stages" in raw:
            check.add("stages", "layout", "[stages.*] belong to layout = \"flat\"; an event log maps [events]")
    elif layout == "flat":
        if "events" in raw:
            check.add("events", "layout", "[events] belongs to layout = \"events\"; a flat table maps [stages.*]")
        stages = check.table(raw.get("stages"), "stages")
        for stage in stages:
            if stage not in stage_names:
                check.add(f"stages.{stage}", "unknown_stage", f"stages are {', '.join(stage_names)}")
        mapping.stages = {s: _parse_stage(check, s, stages[s], mapping.pathway) for s in stage_names if s in stages}
        if stage_names[0] not in mapping.stages:
            check.add("stages", "missing_table", f"a flat table needs at least [stages.{stage_names[0]}]")

    if "appointments" in raw:
        mapping.appointments = _parse_table(check, raw.get("appointments"), "appointments", folder, pathway)
        booked_elsewhere = [f"events.columns.{c}" for c in ("next_appointment_date", "next_appointment_booked_on")
                            if mapping.events and c in mapping.events.columns]
        booked_elsewhere += [f"stages.{s.stage}.{c}" for s in mapping.stages.values()
                             for c in ("next_appointment_date", "next_appointment_booked_on") if getattr(s, c)]
        if booked_elsewhere:
            check.add("appointments", "mapped_twice",
                      "booked appointments come either from an appointment extract or from event columns, not "
                      f"both; remove {', '.join(booked_elsewhere)} or [appointments]")

    for spec in mapping.tables():
        if not spec.path.is_file():
            check.add(f"{spec.role}.file", "missing_file", f"{spec.file!r} not found (looked for {spec.path})")
    if check.problems:
        raise MappingError(check.problems)
    return mapping
