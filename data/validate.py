"""Command line check of a dataset directory against the data contract.

    python -m data.validate DIR

After the summary, a "Readiness" section says whether the data can train and serve the
models (data.readiness): each finding ok, warning or blocking (no model is trained; the
descriptive pages still work).

Exit codes: 0 valid (even with readiness warnings or blocking findings), 1 the data break the
contract, 2 the directory or its files are missing.
"""
from __future__ import annotations

import argparse
import sys

from data.io import read_dataset
from data.readiness import assess
from data.validation import ContractError


def summarize(dataset) -> str:
    patients, events = dataset.patients, dataset.events
    inferred = " (inferred from the latest event)" if dataset.manifest.get("as_of_inferred") else ""
    lines = [f"Dataset {dataset.source_dir}: valid"]
    lines.append(f"  patients:     {len(patients):,} rows")
    lines.append(f"  events:       {len(events):,} rows ({events['patient_id'].nunique():,} patients with events)")
    if dataset.outreach is not None:
        outreach = dataset.outreach
        lines.append(f"  outreach:     {len(outreach):,} call attempts ({outreach['patient_id'].nunique():,} patients, "
                     f"{outreach['date'].min():%Y-%m-%d} to {outreach['date'].max():%Y-%m-%d})")
    if dataset.ground_truth is not None:
        lines.append(f"  ground_truth: {len(dataset.ground_truth):,} rows")
    lines.append(f"  as-of date:   {dataset.as_of:%Y-%m-%d}{inferred}")
    lines.append(f"  enrollment:   {patients['enrollment_date'].min():%Y-%m-%d} to "
                 f"{patients['enrollment_date'].max():%Y-%m-%d}")
    lines.append(f"  event dates:  {events['date'].min():%Y-%m-%d} to {events['date'].max():%Y-%m-%d}")
    programs = patients["program"].value_counts()
    lines.append("  programs:     " + ", ".join(f"{name} {count:,}" for name, count in programs.items()))
    pathway = dataset.pathway
    lines.append(f"  pathway:      {' → '.join(pathway.stage_names)} (from {pathway.source})")
    return "\n".join(lines)


def readiness_section(dataset) -> str:
    report = assess(dataset)
    if report.model_blocked:
        verdict = "valid, but no model can be trained until the blocking findings are resolved"
    elif report.warnings:
        verdict = "trainable and servable, with warnings"
    else:
        verdict = "trainable and servable"
    return "\n".join([f"Readiness: {verdict}", report.text()])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.validate",
                                     description="Check a CarePath dataset directory against the data contract.")
    parser.add_argument("directory", help="directory holding patients/events .parquet or .csv and manifest.json")
    args = parser.parse_args(argv)
    try:
        dataset = read_dataset(args.directory)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ContractError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(summarize(dataset))
    print()
    print(readiness_section(dataset))
    return 0


if __name__ == "__main__":
    sys.exit(main())
