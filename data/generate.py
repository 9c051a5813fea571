"""Command line: generate the synthetic dataset.

    python -m data.generate --patients 50000 --seed 7 --out DIR [--format csv] [--as-of DATE]
"""
from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from data.synthetic.dataset import DEFAULT_AS_OF, generate_tables
from data.io import write_dataset
from data.synthetic.summary import dataset_summary, format_summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", required=True, help="output folder (replaced atomically)")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--as-of", default=DEFAULT_AS_OF, help="data as-of date, YYYY-MM-DD")
    args = parser.parse_args(argv)
    try:
        as_of = pd.Timestamp(args.as_of)
    except (ValueError, TypeError):
        parser.error(f"--as-of: {args.as_of!r} is not a date (YYYY-MM-DD)")
    if args.patients < 1:
        parser.error("--patients must be at least 1")

    started = time.perf_counter()
    tables, manifest = generate_tables(args.patients, args.seed, as_of)
    manifest["generate_seconds"] = round(time.perf_counter() - started, 3)
    manifest["summary"] = dataset_summary(tables["patients"], tables["events"], as_of)
    write_dataset(tables, manifest, args.out, fmt=args.format)
    print(format_summary(manifest["summary"]))
    print(f"wrote {args.out} ({args.format}, manifest.json holds the machine-readable summary) "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
