"""Command line: convert your extracts into a CarePath dataset folder.

    python -m data.ingest MAPPING --out DIR [--format parquet|csv]

Exit codes: 0 written; 1 the data break the contract (nothing written); 2 a missing file,
an unusable mapping or an --out folder that must not be replaced (nothing written).
"""
from __future__ import annotations

import argparse
import sys
import time

from data.ingest import MappingError, OutputFolderError, ingest
from data.validation import ContractError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("mapping", help="mapping file (TOML); source paths in it are relative to it")
    parser.add_argument("--out", required=True, help="dataset folder to write (new, empty, or a CarePath dataset)")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        manifest, summary = ingest(args.mapping, args.out, fmt=args.format)
    except (MappingError, OutputFolderError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except ContractError as exc:
        print(str(exc), file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. a source file unreadable for permissions, a full disk
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary)
    print(f"wrote {args.out} ({manifest['format']}; manifest.json records the sources' sha256 and the mapping) "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
