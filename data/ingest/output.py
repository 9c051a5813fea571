"""Where ingest may write (never over the sources or a folder of someone else's files) and
the readable summary it prints."""
from __future__ import annotations

from pathlib import Path

from data.ingest.convert import Conversion, attribute_presence
from data.ingest.mapping import Mapping
from data.io import FORMATS, MANIFEST, METADATA, TABLE_COLUMNS
from data.pathway import PATHWAY_FILE_NAME
from data.validation import ContractError, Problem

# What write_dataset puts in a dataset folder: a folder holding only these may be replaced.
DATASET_FILES = frozenset({MANIFEST, PATHWAY_FILE_NAME, METADATA}
                          | {f"{name}.{fmt}" for name in TABLE_COLUMNS for fmt in FORMATS})


class OutputFolderError(ContractError):
    """--out names a folder ingest must not replace."""

    def _render(self) -> str:
        return "Refusing to write the dataset:\n" + "\n".join(f"  - {problem}" for problem in self.problems)


def check_out_dir(out, mapping: Mapping) -> Path:
    """The resolved --out folder, or ``OutputFolderError`` if writing there could lose data.

    write_dataset replaces the whole folder, so it must not hold (or be a parent of) a source
    file or the mapping, and an existing non-empty folder must be a CarePath dataset.
    """
    out = Path(out).resolve()
    problems = []
    for path in [mapping.path.resolve()] + [spec.path for spec in mapping.tables()]:
        if out == path or out in path.parents:
            problems.append(Problem(str(out), None, "out_holds_sources",
                                    f"this folder holds {path}, which the mapping reads; replacing it would "
                                    "delete your source files. Choose a new folder for --out"))
    if out.exists() and not out.is_dir():
        problems.append(Problem(str(out), None, "out_not_folder", "exists and is a file, not a folder"))
    elif out.is_dir() and not problems:
        names = sorted(p.name for p in out.iterdir())
        foreign = [name for name in names if name not in DATASET_FILES]
        if names and (MANIFEST not in names or foreign):
            shown = ", ".join((foreign or names)[:8])
            problems.append(Problem(str(out), None, "out_not_dataset",
                                    f"the folder is not empty and is not a CarePath dataset (found: {shown}); "
                                    "it would be replaced as a whole. Choose an empty or new folder"))
    if problems:
        raise OutputFolderError(problems)
    return out


def _counts(series) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in series.value_counts().items())


def format_summary(mapping: Mapping, conversion: Conversion) -> str:
    patients, events = conversion.patients, conversion.events
    stage_counts = events["stage"].value_counts().reindex(list(mapping.pathway.stage_names), fill_value=0)
    lines = [
        f"Converted {mapping.path} (layout {mapping.layout}):",
        f"  patients:     {len(patients):,} ({_counts(patients['program'])})",
        f"  events:       {len(events):,} (" + ", ".join(f"{s} {n:,}" for s, n in stage_counts.items()) + ")",
        f"  enrollment:   {patients['enrollment_date'].min():%Y-%m-%d} to {patients['enrollment_date'].max():%Y-%m-%d}",
        f"  event dates:  {events['date'].min():%Y-%m-%d} to {events['date'].max():%Y-%m-%d}",
    ]
    if conversion.as_of is not None:
        lines.append(f"  as-of date:   {conversion.as_of:%Y-%m-%d} (from the mapping)")
    else:
        lines.append(f"  as-of date:   not stated; readers will take the latest event date "
                     f"({conversion.inferred_as_of:%Y-%m-%d}). If the extract was taken later, state "
                     "as_of = YYYY-MM-DD in the mapping, or patients still waiting look like dropouts too early")
    presence = attribute_presence(conversion)
    for table in ("patients", "events"):
        present = presence[table]["present"]
        shown = [f"{name} ({info['missing']:,} missing)" if info["missing"] else name
                 for name, info in present.items()]
        lines.append(f"  {table} optional columns present: {', '.join(shown) or 'none'}")
        lines.append(f"  {table} optional columns absent:  {', '.join(presence[table]['absent']) or 'none'}")
    if conversion.appointments is not None:
        counts = conversion.appointments
        lines.append(f"  appointments: {counts['appointments']:,} rows; {counts['first_bookings_used']:,} first "
                     f"bookings used; {counts['later_bookings_ignored']:,} later bookings (reschedules) ignored; "
                     f"{counts['matching_no_decision_event']:,} match no decision event; "
                     f"{counts['booked_before_decision_ignored']:,} booked before the decision ignored")
    for file, columns in conversion.ignored_columns.items():
        lines.append(f"  ignored source columns in {file}: {', '.join(columns)}")
    return "\n".join(lines)
