"""Benchmark model training: both models with 5-fold grouped CV, evaluation, explanations;
and the evaluation goals on the default data (issue 12): decision-day AUC vs the oracle,
calibration against the true probability (goal <= 0.02 overall, <= 0.04 per subgroup of >= 500
rows), and the drift monitor on the data itself (must not alert) and a drift-injected copy (must).

    .venv/bin/python bench/bench_models.py [--patients 50000]
Writes bench/results/models-<patients>.json (timings, headline metrics, goals).
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


def evaluation_goals(dataset, bundle) -> dict:
    from ml.monitor import monitor
    from ml.monitor.injection import inject_drift

    report = bundle.report
    shown = report["models"][bundle.primary]
    truth = shown.get("oracle_calibration_error") or {}
    plain, drifted = monitor(dataset, bundle), monitor(inject_drift(dataset), bundle)
    worst = truth.get("worst_subgroup") or {}
    return {
        "decision_day": {name: {"roc_auc": m["decision_day"]["roc_auc"], "roc_auc_ci": m["decision_day"]["roc_auc_ci"]}
                         for name, m in report["models"].items()},
        "oracle_decision_day_roc_auc": report["oracle"]["decision_day_roc_auc"],
        "oracle_calibration_binned": truth.get("binned"), "oracle_calibration_mean_abs": truth.get("mean_abs"),
        "oracle_calibration_worst_subgroup": worst,
        "goal_overall_met": truth.get("binned") is not None and truth["binned"] <= 0.02,
        "goal_subgroups_met": bool(worst) and worst["binned"] <= 0.04,
        "subgroups_over_0_04": [f"{r['attribute']}={r['group']} {r['binned']:.3f}" for r in truth.get("by_subgroup", [])
                                if r["binned"] > 0.04],
        "ici": shown["calibration"]["ici"],
        "estimate_check": report["monitoring"]["estimate_check"],
        "drift_default": {"alert": plain["alert"], "top": [(d["feature"], round(d["psi"], 3)) for d in plain["drift"][:3]]},
        "drift_injected": {"alert": drifted["alert"], "reasons": drifted["reasons"],
                           "top": [(d["feature"], round(d["psi"], 3)) for d in drifted["drift"][:3]]},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=50_000)
    args = parser.parse_args()
    from data.io import read_dataset, write_dataset
    from data.synthetic.dataset import generate_tables
    from ml.risk.training import train_models

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
    result["evaluation_goals"] = evaluation_goals(dataset, bundle)
    print(json.dumps(result, indent=1))
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / f"models-{args.patients}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
