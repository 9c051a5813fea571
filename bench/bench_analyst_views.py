"""Benchmark the analyst views (Journeys, Quality): server-side callback latency at 50k.

    .venv/bin/python bench/bench_analyst_views.py [--patients 50000] [--seed 7] [--rounds 5] [--var-dir DIR]

Generates the dataset (seed 7 by default) and trains the models into a scratch var dir on
the first run (reused with --var-dir), builds the app once, then times as plain functions:
the Journeys callback (cumulative incidence + risk table + variants) for each decision point,
whole cohort and three sites compared, over the cohort filters of bench_app.py; the Quality
callback over the same filters; a variant-filtered and a Sankey-node-filtered cohort; and
the start-up derivation of the follow-up frame. Also reports the colorectal measure's rate.
Writes bench/results/analyst-views-<patients>.json.
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


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_app import _percentiles, _timed  # noqa: E402  (one way to time a callback)

QUERIES = ("", "?program=diabetes", "?program=colorectal&payer=Medicaid", "?sex=F&age=50-80", "?risk=high",
           "?site=Harbor", "?from=2024-01-01&to=2025-06-30", "?region=rural&payer=Uninsured&payer=Medicaid",
           "?race=Black&program=depression", "?program=diabetes&risk=high&risk=medium")




def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--var-dir", type=Path, help="reuse a var dir (data and models) between runs")
    parser.add_argument("--fast-models", action="store_true",
                        help="train with fewer trees/resamples (the views timed here do not use the model's "
                             "quality, only its risk tiers for the ?risk= filters)")
    args = parser.parse_args()
    var_dir = args.var_dir or Path(tempfile.mkdtemp(prefix="carepath-bench-"))
    os.environ.update({"CAREPATH_VAR_DIR": str(var_dir), "CAREPATH_PATIENTS": str(args.patients),
                       "CAREPATH_SEED": str(args.seed)})

    from app import create_app
    from callbacks import context, journeys, measures
    from data.analytics.time_to_next_stage import follow_up_for_dataset

    started = time.perf_counter()
    training_config = None
    if args.fast_models:
        from ml.risk.models import TrainingConfig

        training_config = TrainingConfig(gb_max_iter=120, gb_learning_rate=0.08, gb_min_samples_leaf=40,
                                         bootstrap_resamples=20, explanation_permutations=4)
    create_app(log=lambda message: print(message, file=sys.stderr), training_config=training_config)
    app_s = time.perf_counter() - started
    app_data = context.current()
    pathway = context.pathway()

    follow_up_ms = [_timed(follow_up_for_dataset, app_data.dataset, app_data.cohort_frame) for _ in range(3)]
    sites = list(app_data.cohort_frame["site"].value_counts().index[:3])
    results = {}
    journeys.update_journeys("", pathway.decision_stages[0], "", [])  # warm-up
    for name, compare, groups in (("journeys_cohort", "", []), ("journeys_three_sites", "site", sites)):
        samples = [_timed(journeys.update_journeys, q, stage, compare, groups)
                   for _ in range(args.rounds) for q in QUERIES for stage in pathway.decision_stages]
        results[name] = _percentiles(samples)
    measure = measures.measure_options()[0]["value"]
    measures.update_quality("", measure)
    results["quality"] = _percentiles([_timed(measures.update_quality, q, measure)
                                       for _ in range(args.rounds) for q in QUERIES])
    variant = journeys.journeys_view("", pathway.decision_stages[0], "", []).variant_rows[0]["key"]
    results["journeys_with_variant_selected"] = _percentiles(
        [_timed(journeys.update_journeys, f"?variant={variant}", pathway.decision_stages[0], "", [])
         for _ in range(args.rounds * 4)])
    results["cohort_with_sankey_node"] = _percentiles(
        [_timed(context.cohort_frame, "?node=positive-screen") for _ in range(args.rounds * 4)])
    results["cohort_plain"] = _percentiles([_timed(context.cohort_frame, "") for _ in range(args.rounds * 4)])

    from data.measures import measure_result
    program, definition = pathway.measures[0]
    rate = measure_result(app_data.cohort_frame, program, definition, app_data.dataset.as_of).summary()["overall"]

    out = {
        "date": str(date.today()), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                              f"Python {platform.python_version()}",
        "patients": len(app_data.cohort_frame), "seed": args.seed, "as_of": str(app_data.dataset.as_of.date()),
        "decision_points": len(app_data.follow_up),
        "create_app_s": round(app_s, 1), "fast_models": args.fast_models,
        "startup_follow_up_frame_ms": _percentiles(follow_up_ms),
        "callbacks": results,
        "colorectal_measure": {k: rate[k] for k in ("numerator", "denominator", "rate", "rate_lower", "rate_upper",
                                                    "gap", "not_yet_evaluable", "excluded_age_out_of_range",
                                                    "excluded_age_not_recorded")},
    }
    path = ROOT / "bench" / "results" / f"analyst-views-{args.patients}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
