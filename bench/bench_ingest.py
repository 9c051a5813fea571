"""Benchmark ``python -m data.ingest`` and ``python -m data.validate`` on a large flat extract.

The extract is the worked example (data/synthetic/flat_example.py, examples/flat_extract/
mapping.toml) at n patients, written once under bench/out/ (git-ignored) and reused.
Each command runs in its own process; wall time and that process's peak RSS are recorded.
    .venv/bin/python bench/bench_ingest.py [--sizes 100000 1000000]
Writes bench/results/ingest.json; copy the table into bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SEED = 7


def make_extract(n: int) -> Path:
    """bench/out/flat_extract_<n>/ with patients.csv, appointments.csv and the example mapping."""
    folder = OUT / f"flat_extract_{n}"
    if not (folder / "mapping.toml").is_file():
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "data.synthetic.flat_example", "--out", str(folder),
                        "--patients", str(n), "--seed", str(SEED)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        shutil.copy(ROOT / "examples" / "flat_extract" / "mapping.toml", folder / "mapping.toml")
        print(f"  made the {n:,}-patient extract in {time.perf_counter() - started:.0f} s", flush=True)
    return folder


def timed(args: list[str]) -> dict:
    """Wall seconds and peak RSS (MB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stdout, stderr = process.stdout.read().decode(), process.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{stderr[-2000:]}")
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024), "stdout": stdout}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        folder = make_extract(n)
        dataset = OUT / f"ingested_{n}"
        ingest = timed(["-m", "data.ingest", str(folder / "mapping.toml"), "--out", str(dataset)])
        validate = timed(["-m", "data.validate", str(dataset)])
        manifest = json.loads((dataset / "manifest.json").read_text())
        rows.append({
            "patients": n, "events": manifest["files"]["events"]["rows"],
            "appointments": manifest["sources"]["appointments"]["rows"],
            "source_mb": round(sum(s["bytes"] for s in manifest["sources"].values()) / 1e6, 1),
            "ingest_seconds": ingest["seconds"], "ingest_peak_rss_mb": ingest["peak_rss_mb"],
            "validate_seconds": validate["seconds"], "validate_peak_rss_mb": validate["peak_rss_mb"],
        })
        print(rows[-1], flush=True)
    result = {"date": str(date.today()), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}", "runs": rows}
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "ingest.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
