"""Benchmark the scenario engine: projections against the ground truth, and slider latency.

    .venv/bin/python bench/bench_scenarios.py [--patients 50000] [--seeds 7 8 9] [--rounds 40]
        [--data DIR] [--latency-only] [--bundle FILE] [--cache DIR]

For each seed: generate the data, train the models, build the engine (timed), then
1. project a fixed set of lever scenarios with both methods and re-simulate each one
   (the ground truth); record the extra completions, model ÷ truth, and whether the
   model's 95 % interval holds the truth;
2. (first seed only) time slider changes: random levers on any slider position, half
   on a filtered cohort, without the truth check, as the Scenarios page calls it, and
   set the analytic 95 % interval of two lever sets beside the paired bootstrap it
   replaced (400 Poisson resamples of every patient, each with one model draw).
--data reads a dataset written before (data.io.write_dataset) instead of generating one;
--latency-only skips step 1 and trains lean models (fewer trees and resamples: the
slider's cost does not depend on them), for the 1M latency figure.  --bundle loads models
saved before instead of training (a registry's models/<key>/bundle.joblib, e.g. from a first
start at 1M); --cache keeps the derived tables (ml.workspace) in DIR between runs.
Besides the slider moves, the latency step times the first move on a cohort (its state
before the levers derived, not kept from an earlier move).
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
    first = []
    for i in range(10):  # the first move on a cohort: its state before the levers is derived
        engine._cohorts.clear()
        started = time.perf_counter()
        engine.project(ScenarioLevers(wait_cut_pct={s: 0.3 for s in STAGES}, outreach_top_pct=0.2,
                                      outreach_effectiveness=0.3), diabetes if i % 2 else None, with_truth=False)
        first.append((time.perf_counter() - started) * 1000)
    return {"n": len(samples), "p50_ms": round(float(np.percentile(samples, 50)), 1),
            "p95_ms": round(float(np.percentile(samples, 95)), 1), "max_ms": round(float(max(samples)), 1),
            "first_move_on_a_cohort_p50_ms": round(float(np.percentile(first, 50)), 1),
            "first_move_on_a_cohort_max_ms": round(float(max(first)), 1)}


def interval_check(engine) -> dict:
    """Analytic interval of extra completions against the paired patient bootstrap."""
    from ml.scenarios.engine import MODEL_DRAWS
    from ml.scenarios.levers import ScenarioLevers

    out = {}
    for name, levers in (("all waits -30%", ScenarioLevers(wait_cut_pct={s: 0.3 for s in STAGES})),
                         ("outreach top 20%", ScenarioLevers(outreach_top_pct=0.2, outreach_effectiveness=0.3,
                                                             cost_per_contact=45.0))):
        result = engine.project(levers, with_truth=False)
        pop = engine.population_index()
        pathway = engine.pathway_gain(levers, pop, with_draws=True)
        deltas = engine._outreach_deltas(engine.contacted(levers), pop, levers, pathway)
        rng, resamples, totals = np.random.default_rng(0), 400, []
        for r in range(resamples):  # one resample at a time: 400 × 180k weights would not fit at 1M
            weights = rng.poisson(1.0, len(pop))
            totals.append(weights @ deltas[1 + r % MODEL_DRAWS] * len(pop) / weights.sum())
        out[name] = {"analytic": [round(v, 1) for v in result["extra_completions_ci"]],
                     "bootstrap": [round(float(v), 1) for v in np.percentile(totals, [2.5, 97.5])],
                     "estimate": round(result["extra_completions"], 1)}
        print(f"  interval {name}: {out[name]}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--data", help="a dataset folder to read instead of generating one (one seed)")
    parser.add_argument("--latency-only", action="store_true")
    parser.add_argument("--bundle", help="a saved ModelBundle (joblib) to use instead of training")
    parser.add_argument("--cache", help="a folder for the derived tables, kept between runs")
    args = parser.parse_args()
    from dataclasses import replace
    from data.synthetic.dataset import generate_tables
    from data.io import read_dataset, write_dataset
    from ml.scenarios.engine import ScenarioEngine
    from ml.risk.models import TrainingConfig
    from ml.risk.training import train_models

    runs = {}
    for k, seed in enumerate(args.seeds):
        print(f"seed {seed}: generating and training ...", flush=True)
        folder = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="carepath-bench-")) / "data"
        if not args.data:
            tables, manifest = generate_tables(args.patients, seed)
            write_dataset(tables, manifest, folder)
        dataset = read_dataset(folder)
        if args.data:
            args.patients = len(dataset.patients)
        config = TrainingConfig()
        if args.latency_only:
            config = replace(config, gb_max_iter=120, gb_learning_rate=0.08, gb_min_samples_leaf=40,
                             bootstrap_resamples=20, explanation_permutations=4)
        if args.cache:
            from ml.workspace import AnalyticWorkspace

            AnalyticWorkspace.of(dataset, cache_dir=Path(args.cache), log=lambda message: None)
        if args.bundle:
            import joblib

            bundle = joblib.load(args.bundle)
        else:
            bundle = train_models(dataset, config, log=lambda message: None)
        started = time.perf_counter()
        engine = ScenarioEngine(dataset, bundle)
        run = {"engine_build_s": round(time.perf_counter() - started, 2)}
        if not args.latency_only:
            run["accuracy"] = accuracy(engine)
        if k == 0:
            run["slider_change"] = slider_latency(engine, dataset, args.rounds)
            print(f"  slider change: {run['slider_change']}", flush=True)
            run["interval_check"] = interval_check(engine)
        runs[str(seed)] = run
    result = {"date": str(date.today()), "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}", "patients": args.patients, "runs": runs}
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    suffix = "-latency" if args.latency_only else ""
    (ROOT / "bench" / "results" / f"scenarios-{args.patients}{suffix}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
