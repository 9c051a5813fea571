"""Command line: the pathway definition's quality measures on a dataset, as JSON.

    python -m data.measures --out FILE [DIR]

DIR defaults to the configured dataset (CAREPATH_DATA_DIR, read only; else the synthetic
default in the runtime folder, generated on first run), as the app uses. Prints a readable
summary; FILE gets aggregates only (numerator, denominator, exclusions, rate and Wilson
interval overall, by site and by month of the index event), never patient rows.

Exit codes: 0 written, 1 the data break the contract, 2 the folder or its files are missing.
"""
from __future__ import annotations

import argparse
import json
import sys

from data.io import atomic_write_text, read_dataset
from data.measures.cohort import patient_frame
from data.measures.follow_up import measure_result
from data.validation import ContractError


def _percent(value) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def summary_lines(result: dict) -> list[str]:
    overall = result["overall"]
    return [
        f"{result['label']} ({result['program']}; {result['reference'] or 'local definition'})",
        (f"  rate:               {_percent(overall['rate'])} = {overall['numerator']:,} / {overall['denominator']:,} "
         f"(95 % CI {_percent(overall['rate_lower'])}–{_percent(overall['rate_upper'])})"),
        f"  numerator gap:      {overall['gap']:,}",
        f"  not yet evaluable:  {overall['not_yet_evaluable']:,} (window still open on {result['as_of']})",
        (f"  excluded, age:      {overall['excluded_age_out_of_range']:,} out of range, "
         f"{overall['excluded_age_not_recorded']:,} not recorded"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.measures", description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", help="dataset folder (default: the configured dataset)")
    parser.add_argument("--out", required=True, help="JSON file to write (replaced atomically)")
    args = parser.parse_args(argv)
    try:
        if args.directory:
            dataset = read_dataset(args.directory)
        else:
            from data.store import DataFolderError, ensure_dataset

            try:
                dataset = ensure_dataset(log=lambda message: print(message, file=sys.stderr))
            except DataFolderError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ContractError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    frame = patient_frame(dataset)
    results = [measure_result(frame, program, measure, dataset.as_of).summary()
               for program, measure in dataset.pathway.measures]
    if not results:
        print(f"The pathway definition ({dataset.pathway.source}) defines no quality measures.")
    for result in results:
        print("\n".join(summary_lines(result)))
    atomic_write_text(args.out, json.dumps({"as_of": str(dataset.as_of.date()), "measures": results}, indent=2,
                                           default=str) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
