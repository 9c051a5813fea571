"""Worklist callback latency with a busy outreach log.

    .venv/bin/python bench/bench_worklist_outreach.py [--patients 50000] [--attempts 10000] [--rounds 40]

Generates the default dataset and trains the models into a scratch var dir (cached there
after the first run), logs ``--attempts`` calls (spread over the in-progress patients and
older decision points, as months of team work would be) into a fresh SQLite outreach log,
then times the Worklist callback (ranking by expected gain, risk and deadline, with and
without the patients called today) and the team summary, p50/p95 in ms.
Writes bench/results/worklist-outreach.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _percentiles(samples_ms: list[float]) -> dict:
    return {"n": len(samples_ms), "p50_ms": round(float(np.percentile(samples_ms, 50)), 1),
            "p95_ms": round(float(np.percentile(samples_ms, 95)), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--attempts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--var-dir", type=Path, default=Path(tempfile.gettempdir()) / "carepath-bench-worklist")
    args = parser.parse_args()
    os.environ["CAREPATH_VAR_DIR"] = str(args.var_dir)
    os.environ["CAREPATH_PATIENTS"] = str(args.patients)

    from flask import Flask

    from callbacks import context, outreach, worklist
    from data.schema import DISPOSITIONS
    from database.outreach import open_log

    server = Flask(__name__)
    context.init_cache(server)
    started = time.perf_counter()
    app_data = context.load(server, log=lambda message: None)
    print(f"loaded {len(app_data.cohort_frame):,} patients and models in {time.perf_counter() - started:.0f} s")

    db_file = args.var_dir / "bench-outreach.db"
    db_file.unlink(missing_ok=True)
    log = open_log(url=f"sqlite:///{db_file}")
    rng = np.random.default_rng(0)
    scores = app_data.risk_scores
    others = app_data.dataset.patients["patient_id"].sample(2_000, random_state=0).tolist()
    started = time.perf_counter()
    for i in range(args.attempts):
        if i % 3 == 0:  # a third for patients on today's list, the rest for earlier work
            row = scores.iloc[int(rng.integers(len(scores)))]
            patient, stage = str(row["patient_id"]), str(row["awaiting_stage"])
        else:
            patient, stage = others[int(rng.integers(len(others)))], "diagnosis"
        log.record_attempt(patient, DISPOSITIONS[int(rng.integers(len(DISPOSITIONS)))],
                           coordinator=f"coordinator {int(rng.integers(6))}", awaited_stage=stage)
    write_seconds = time.perf_counter() - started
    context._current = dataclasses.replace(app_data, outreach=log, outreach_unavailable=None)

    timings = {}
    for sort in (worklist.GAIN, worklist.RISK, worklist.DEADLINE):
        for show in (False, True):
            samples = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                worklist.update_worklist("", 25, sort, show)
                samples.append((time.perf_counter() - t0) * 1000)
            timings[f"worklist sort={sort} show_called_today={show}"] = _percentiles(samples)
    samples = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        outreach.update_team_summary(0)
        samples.append((time.perf_counter() - t0) * 1000)
    timings["team summary (30 days)"] = _percentiles(samples)

    result = {"date": str(date.today()), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "patients": args.patients, "attempts": args.attempts, "in_progress": int(len(scores)),
              "gain_available": bool(worklist.gain_available()),
              "log_write_seconds": round(write_seconds, 1), "callbacks": timings}
    out = ROOT / "bench" / "results" / "worklist-outreach.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
