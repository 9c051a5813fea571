"""Benchmark model training: both models with 5-fold grouped CV, evaluation, explanations.

    .venv/bin/python bench/bench_models.py [--patients 50000]
Writes bench/results/models-<patients>.json (timings and the headline metrics).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=50_000)
    args = parser.parse_args()
    from data.synthetic.dataset import generate_tables
    from data.io import read_dataset, write_dataset
    from ml.training import train_models

    tables, manifest = generate_tables(args.patients, 7)
    folder = Path(tempfile.mkdtemp(prefix="carepath-bench-")) / "data"
    write_dataset(tables, manifest, folder)
    dataset = read_dataset(folder)
    started = time.perf_counter()
    bundle = train_models(dataset, log=lambda message: print("   ", message, flush=True))
    total = time.perf_counter() - started
    report = bundle.report
    result = {
        "date": str(date.today()), "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "patients": args.patients, "decision_points": report["n_decision_points"], "landmark_rows": report["n_rows"],
        "cv_fit_seconds_both_models": report["fit_seconds"], "train_evaluate_explain_seconds": round(total, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "oracle_roc_auc": report["oracle_roc_auc"],
        "models": {name: {k: m[k] for k in ("roc_auc", "roc_auc_ci", "pr_auc", "brier", "ece", "calibration_slope",
                                            "fit_seconds")} for name, m in report["models"].items()},
    }
    print(json.dumps(result, indent=1))
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / f"models-{args.patients}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
