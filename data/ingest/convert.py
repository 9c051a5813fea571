"""The conversion itself: source files + mapping -> contract-typed patients and events,
checked against the whole data contract before anything is written.

Problems found while translating the source (unknown codes, dates not in the stated
format, a done flag without a date) are reported alone, named by source file and column;
only clean sources go on to the contract checks, so one mistake is not reported thrice.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pandas as pd

from data.ingest.appointments import attach_first_bookings
from data.ingest.flat import flat_events
from data.ingest.mapping import Mapping, MappingError, TableSpec
from data.ingest.sources import SourceColumns, convert_table, file_fingerprint, read_source, require_columns, text
from data.schema import EVENT_COLUMNS, PATIENT_COLUMNS
from data.validation import ContractError, Problem, check_typed_tables, check_values, coerce_table

INGEST_VERSION = 1


@dataclass
class Conversion:
    patients: pd.DataFrame  # typed contract columns; unmapped optional columns absent
    events: pd.DataFrame
    as_of: pd.Timestamp | None  # as stated in the mapping
    inferred_as_of: pd.Timestamp  # what readers will take when the mapping states none
    sources: dict  # role -> {file, path, sha256, bytes, rows}
    ignored_columns: dict  # source file -> columns no mapping entry uses
    appointments: dict | None = None  # counts from the appointment extract
    labels: dict = field(default_factory=dict)  # table -> how problems name it


def _wanted_columns(mapping: Mapping, spec: TableSpec) -> dict[str, str]:
    """{where in the mapping: source column} for one source file."""
    wanted = {f"{spec.role}.columns.{name}": source for name, source in spec.columns.items()}
    if spec.role == "patients":
        for stage in mapping.stages.values():
            for key in ("date", "done", "day_offset", "result", "next_appointment_date",
                        "next_appointment_booked_on", "site", "billed_cost"):
                value = getattr(stage, key)
                if isinstance(value, str):
                    wanted[f"stages.{stage.stage}.{key}"] = value
    return wanted


def _source_names(mapping: Mapping) -> dict[tuple[str, str], str]:
    """(table, contract column) -> the source column(s) it came from, for contract problems."""
    names = {("patients", c): s for c, s in mapping.patients.columns.items()}
    if mapping.events is not None:
        names.update({("events", c): s for c, s in mapping.events.columns.items()})
    if mapping.appointments is not None:
        names.update({("appointments", c): s for c, s in mapping.appointments.columns.items()})
    for key in ("date", "result", "next_appointment_date", "next_appointment_booked_on", "site", "billed_cost"):
        sources = [getattr(s, key) for s in mapping.stages.values() if isinstance(getattr(s, key), str)]
        if sources:
            names[("events", key)] = " / ".join(sources)
    names[("events", "patient_id")] = names.get(("events", "patient_id"), mapping.patients.columns["patient_id"])
    return names


def _name_sources(problems: list[Problem], labels: dict[str, str], names: dict) -> list[Problem]:
    """Contract problems name contract columns; add the source column the user knows."""
    tables = {label: table for table, label in labels.items()}
    out = []
    for problem in problems:
        source = names.get((tables.get(problem.file), problem.column))
        if source and source != problem.column:
            problem = dataclasses.replace(problem, column=f"{source} (-> {problem.column})")
        out.append(problem)
    return out


def _as_of_hint(problem: Problem) -> Problem:
    if problem.rule != "after_as_of":
        return problem
    return dataclasses.replace(problem, message=problem.message + " (the mapping states no as_of, so readers take "
                               "the latest event date; state as_of = YYYY-MM-DD, the day the extract was taken)")


def with_all_columns(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """The contract's full column set (absent ones empty), as data.io.read_dataset hands tables on."""
    return frame.reindex(columns=[c.name for c in columns])


def _read_all(mapping: Mapping) -> dict[str, pd.DataFrame]:
    frames, problems = {}, []
    for spec in mapping.tables():
        try:
            frames[spec.role] = read_source(spec)
        except ContractError as exc:
            problems += exc.problems
    if problems:
        raise ContractError(problems)
    missing = []
    for spec in mapping.tables():
        try:
            require_columns(spec, frames[spec.role], _wanted_columns(mapping, spec))
        except MappingError as exc:
            missing += exc.problems
    if missing:
        raise MappingError(missing)
    return frames


def convert(mapping: Mapping) -> Conversion:
    """Read the sources (read only), translate and validate; raise ``ContractError`` listing
    every problem. Nothing is written."""
    sources = {spec.role: {"file": spec.file, "path": str(spec.path), **file_fingerprint(spec.path)}
               for spec in mapping.tables()}
    frames = _read_all(mapping)
    for role, df in frames.items():
        sources[role]["rows"] = int(len(df))

    patients_spec = mapping.patients
    labels = {"patients": str(patients_spec.path)}
    raw_patients, problems = convert_table(patients_spec, frames["patients"], PATIENT_COLUMNS)
    if mapping.layout == "flat":
        labels["events"] = f"{patients_spec.path} (per-stage columns)"
        source = SourceColumns(patients_spec, frames["patients"], patients_spec.columns["patient_id"])
        patient_ids = text(frames["patients"][patients_spec.columns["patient_id"]])
        raw_events = flat_events(source, mapping.stages, patient_ids, raw_patients["enrollment_date"])
        problems += source.problems
    else:
        labels["events"] = str(mapping.events.path)
        raw_events, found = convert_table(mapping.events, frames["events"], EVENT_COLUMNS)
        problems += found
    raw_appointments = None
    if mapping.appointments is not None:
        labels["appointments"] = str(mapping.appointments.path)
        raw_appointments, found = convert_table(mapping.appointments, frames["appointments"],
                                                mapping.appointment_columns())
        problems += found
    if problems:
        raise ContractError(problems)

    patients, problems = coerce_table(raw_patients, PATIENT_COLUMNS, labels["patients"])
    events, found = coerce_table(raw_events, EVENT_COLUMNS, labels["events"])
    problems += found
    latest = events["date"].max() if "date" in events.columns else pd.NaT
    as_of = mapping.as_of
    # Without a stated as-of date, check against the one readers will infer (data.io.read_dataset).
    check_as_of = as_of if as_of is not None else latest
    appointment_counts = None
    if raw_appointments is not None:
        appointments, found = coerce_table(raw_appointments, mapping.appointment_columns(), labels["appointments"])
        found += check_values(appointments, mapping.appointment_columns(), labels["appointments"])
        problems += found
        if not found and not problems:
            events, appointment_counts, found = attach_first_bookings(events, appointments, as_of,
                                                                     labels["appointments"], mapping.pathway)
            problems += found
    if not problems:
        found = check_typed_tables(patients, events, check_as_of, labels["patients"], labels["events"],
                                   mapping.pathway)
        if as_of is None:
            found = [_as_of_hint(p) for p in found]
        problems += found
    if problems:
        raise ContractError(_name_sources(problems, labels, _source_names(mapping)))

    ignored = {}
    for spec in mapping.tables():
        used = set(_wanted_columns(mapping, spec).values())
        unused = [c for c in frames[spec.role].columns if c not in used]
        if unused:
            ignored[spec.file] = unused
    return Conversion(patients=patients.reset_index(drop=True), events=events.reset_index(drop=True),
                      as_of=as_of, inferred_as_of=pd.Timestamp(latest), sources=sources,
                      ignored_columns=ignored, appointments=appointment_counts, labels=labels)


def manifest_for(mapping: Mapping, conversion: Conversion) -> dict:
    """What the dataset's manifest.json records about where it came from."""
    manifest = {
        "source": "ingest",
        "ingest_version": INGEST_VERSION,
        "layout": mapping.layout,
        "mapping": mapping.raw,
        "mapping_file": {"path": str(mapping.path.resolve()), **file_fingerprint(mapping.path)},
        "sources": conversion.sources,
        "attributes": attribute_presence(conversion),
        "ignored_source_columns": conversion.ignored_columns,
    }
    if conversion.as_of is not None:
        manifest["as_of"] = f"{conversion.as_of:%Y-%m-%d}"
    if conversion.appointments is not None:
        manifest["appointments"] = conversion.appointments
    return manifest


def attribute_presence(conversion: Conversion) -> dict:
    """Optional columns present (with how many rows lack a value) and absent, per table."""
    out = {}
    for table, columns, frame in (("patients", PATIENT_COLUMNS, conversion.patients),
                                  ("events", EVENT_COLUMNS, conversion.events)):
        optional = [c.name for c in columns if not c.required]
        out[table] = {
            "present": {name: {"missing": int(frame[name].isna().sum())} for name in optional if name in frame},
            "absent": [name for name in optional if name not in frame],
        }
    return out
