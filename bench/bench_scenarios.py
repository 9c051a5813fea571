"""Benchmark the scenario engine: projections against the ground truth, and slider latency.

    .venv/bin/python bench/bench_scenarios.py [--patients 50000] [--seeds 7 8 9] [--rounds 40]

For each seed: generate the data, train the models, build the engine (timed), then
1. project a fixed set of lever scenarios with both methods and re-simulate each one
   (the ground truth); record the extra completions, model ÷ truth, and whether the
   model's 95 % interval holds the truth;
2. (first seed only) time slider changes: random levers on any slider position, half
   on a filtered cohort, without the truth check, as the Scenarios page calls it.
Writes bench/results/scenarios-<patients>.json.
"""
from __future__ import annotations

import argparse
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

from data.pathway import DECISION_STAGES as STAGES  # noqa: E402 (after the sys.path line)
SLIDER_STEPS = np.arange(0, 0.65, 0.05)  # the page's wait-cut slider: 0-60 % in 5 % steps


def scenarios():
    from ml.scenarios.levers import PRESETS, ScenarioLevers

    every = {s: 0.3 for s in STAGES}
    return {
        "all waits -30%": ScenarioLevers(wait_cut_pct=every),
        "all waits -10%": ScenarioLevers(wait_cut_pct={s: 0.1 for s in STAGES}),
        "all waits -50%": ScenarioLevers(wait_cut_pct={s: 0.5 for s in STAGES}),
        **{f"{stage} wait -30%": ScenarioLevers(wait_cut_pct={stage: 0.3}) for stage in STAGES},
        "first-visit attendance +10 pp, every stage": ScenarioLevers(attendance_pp={s: 0.1 for s in STAGES}),
        **{f"preset {name}": levers for name, levers in PRESETS.items()},
        "everything (waits -30%, attendance +10 pp, outreach top 20% at 30%)": ScenarioLevers(
            wait_cut_pct=every, attendance_pp={s: 0.1 for s in STAGES}, outreach_top_pct=0.2,
            outreach_effectiveness=0.3),
    }


def accuracy(engine) -> dict:
    out = {}
    for name, levers in scenarios().items():
        result = engine.project(levers)
        row = {"truth_extra": round(result["true_extra_completions"], 1)}
        low, high = result["extra_completions_ci"]
        row["model_extra_ci"] = [round(low, 1), round(high, 1)]
        row["truth_in_model_interval"] = bool(low <= result["true_extra_completions"] <= high)
        truth = result["true_extra_completions"]
        for method in ("model", "arithmetic"):
            m = result["methods"][method]
            row[f"{method}_extra"] = round(m["extra_completions"], 1)
            row[f"{method}_vs_truth"] = round(m["extra_completions"] / truth, 3) if truth else None
            row[f"{method}_relative_improvement"] = round(m["relative_improvement"], 4)
        row["truth_relative_improvement"] = round(result["true_relative_improvement"], 4)
        row["patients"] = result["patients"]
        out[name] = row
        print(f"  {name}: model {row['model_extra']:+.0f} / arithmetic {row['arithmetic_extra']:+.0f} / "
              f"truth {row['truth_extra']:+.0f}  (model ÷ truth {row['model_vs_truth']}; model 95% "
              f"{low:.0f}-{high:.0f})", flush=True)
    return out


def slider_latency(engine, dataset, rounds: int) -> dict:
    from ml.scenarios.levers import ScenarioLevers

    rng = np.random.default_rng(0)
    diabetes = dataset.patients.loc[dataset.patients["program"].astype(str) == "diabetes", "patient_id"]
    samples = []
    for i in range(rounds):
        levers = ScenarioLevers(
            wait_cut_pct={s: float(rng.choice(SLIDER_STEPS)) for s in STAGES},
            attendance_pp={s: float(rng.choice([0, 0.05, 0.1])) for s in STAGES},
            outreach_top_pct=float(rng.choice([0, 0.1, 0.2, 0.5])), outreach_effectiveness=0.3,
            cost_per_contact=45.0, screening_uptake_pp=float(rng.choice([0, 0.05])))
        started = time.perf_counter()
        engine.project(levers, diabetes if i % 2 else None, with_truth=False)
        samples.append((time.perf_counter() - started) * 1000)
    return {"n": len(samples), "p50_ms": round(float(np.percentile(samples, 50)), 1),
            "p95_ms": round(float(np.percentile(samples, 95)), 1), "max_ms": round(float(max(samples)), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    from data.synthetic.dataset import generate_tables
    from data.io import read_dataset, write_dataset
    from ml.scenarios.engine import ScenarioEngine
    from ml.risk.training import train_models

    runs = {}
    for k, seed in enumerate(args.seeds):
        print(f"seed {seed}: generating and training ...", flush=True)
        tables, manifest = generate_tables(args.patients, seed)
        folder = Path(tempfile.mkdtemp(prefix="carepath-bench-")) / "data"
        write_dataset(tables, manifest, folder)
        dataset = read_dataset(folder)
        bundle = train_models(dataset, log=lambda message: None)
        started = time.perf_counter()
        engine = ScenarioEngine(dataset, bundle)
        run = {"engine_build_s": round(time.perf_counter() - started, 2), "accuracy": accuracy(engine)}
        if k == 0:
            run["slider_change"] = slider_latency(engine, dataset, args.rounds)
            print(f"  slider change: {run['slider_change']}", flush=True)
        runs[str(seed)] = run
    result = {"date": str(date.today()), "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}", "patients": args.patients, "runs": runs}
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / f"scenarios-{args.patients}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
