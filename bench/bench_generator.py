"""Benchmark the synthetic generator: wall time and peak memory at 50k and 1M patients.

Each size runs in a fresh subprocess so its peak RSS is its own.
    .venv/bin/python bench/bench_generator.py [--sizes 50000 1000000] [--keep DIR]
--keep DIR writes each dataset to DIR/<patients> and keeps it (e.g. a 10M dataset for the
filter-latency bench) instead of a temporary folder.
Writes bench/results/generator.json; copy the table into bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from data.synthetic.dataset import generate_tables
from data.io import write_dataset
n = int(sys.argv[1])
t0 = time.perf_counter()
tables, manifest = generate_tables(n, 7)
t1 = time.perf_counter()
write_dataset(tables, manifest, sys.argv[2])
t2 = time.perf_counter()
print(json.dumps({{"patients": n, "events": len(tables["events"]), "decision_points": len(tables["ground_truth"]),
    "generate_seconds": round(t1 - t0, 2), "write_parquet_seconds": round(t2 - t1, 2),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 1_000_000])
    parser.add_argument("--keep", type=Path, help="keep each dataset in KEEP/<patients>/data")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            target = args.keep / str(n) / "data" if args.keep else Path(tmp) / "data"
            out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), str(n), str(target)],
                                 capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    result = {"date": str(date.today()), "machine": f"{platform.node()} {platform.machine()}, "
              f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}", "runs": rows}
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    name = "generator.json" if args.sizes == [50_000, 1_000_000] else f"generator-{'-'.join(map(str, args.sizes))}.json"
    (ROOT / "bench" / "results" / name).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
