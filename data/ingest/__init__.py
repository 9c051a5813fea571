"""Bring your own data: convert CSV/Parquet extracts into a validated CarePath dataset folder
through a column mapping (TOML). See docs/data.md, "Bring your own data".

    python -m data.ingest MAPPING --out DIR

The source files are only read; the dataset is written atomically and only after the
converted tables pass the whole data contract.
"""
from __future__ import annotations

from data.ingest.convert import Conversion, convert, manifest_for, with_all_columns
from data.ingest.mapping import Mapping, MappingError, load_mapping
from data.ingest.output import OutputFolderError, check_out_dir, format_summary

__all__ = ["Conversion", "Mapping", "MappingError", "OutputFolderError", "check_out_dir", "convert",
           "format_summary", "ingest", "load_mapping", "manifest_for"]


def ingest(mapping_path, out_dir, fmt: str = "parquet") -> tuple[dict, str]:
    """Convert the sources a mapping names and write the dataset to ``out_dir``.

    Returns (manifest as written, readable summary). Raises ``MappingError`` or
    ``OutputFolderError`` (nothing read or written) or ``ContractError`` (nothing written).
    """
    from data.io import write_dataset
    from data.pathway import PATHWAY_FILE_NAME

    mapping = load_mapping(mapping_path)
    out = check_out_dir(out_dir, mapping)
    conversion = convert(mapping)
    manifest = manifest_for(mapping, conversion)
    manifest["summary"] = journey_summary(mapping, conversion)
    # The dataset carries its own pathway definition, so every reader applies the same rules.
    extra = {PATHWAY_FILE_NAME: mapping.pathway_file.read_bytes()} if mapping.pathway_file else None
    written = write_dataset({"patients": conversion.patients, "events": conversion.events}, manifest, out, fmt=fmt,
                            extra_files=extra)
    return written, format_summary(mapping, conversion)


def journey_summary(mapping: Mapping, conversion: Conversion) -> dict:
    """Journey statuses and the funnel at the as-of date readers will use, for the manifest."""
    from data.cohorts import funnel_counts
    from data.journeys import derive_journeys
    from data.schema import EVENT_COLUMNS, PATIENT_COLUMNS

    as_of = conversion.as_of if conversion.as_of is not None else conversion.inferred_as_of
    journeys = derive_journeys(with_all_columns(conversion.patients, PATIENT_COLUMNS),
                               with_all_columns(conversion.events, EVENT_COLUMNS), as_of, mapping.pathway)
    funnel = funnel_counts(journeys, mapping.pathway)
    return {"as_of": f"{as_of:%Y-%m-%d}", "patients": int(len(journeys)),
            "status": {k: int(v) for k, v in journeys["status"].value_counts().items()},
            "funnel": {row.step: int(row.patients) for row in funnel.itertuples()}}
