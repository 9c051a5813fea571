"""Benchmark the analytics engines behind Overview and Pathways: filter-change latency of the
page callbacks on the pandas reference and on DuckDB (data/warehouse), and whether they agree.

    .venv/bin/python bench/bench_warehouse.py --patients 50000 [--rounds 10] [--var-dir DIR]

1. Generates the synthetic dataset into a scratch var dir (or reuses --var-dir) and derives the
   cohort frame as the app does at start-up (callbacks.context.build_cohort_frame, variant codes).
   No model is trained: training is not what this measures and takes minutes at 1M, so patients
   carry no risk tier and the bench's cohorts leave the risk filter out (the parity tests cover it).
2. For each engine (CAREPATH_ANALYTICS_ENGINE = pandas, duckdb), times the page callbacks
   overview.update_overview and pathways.update_pathways (plain functions, as bench_app.py does)
   over QUERIES x rounds: the server-side time of a filter change, p50/p95. DuckDB's one-off
   registration of the cohort table (first call in a worker) is timed apart.
3. Checks the two engines' rendered outputs are identical for every query.
Writes bench/results/warehouse-<patients>.json.
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

from bench.bench_app import QUERIES as APP_QUERIES, _percentiles, _timed  # noqa: E402

# bench_app's filter changes, less those on the risk tier (no model here, see above).
QUERIES = tuple(q for q in APP_QUERIES if "risk=" not in q) + ("?program=diabetes&node=awaiting-diagnosis",
                                                              "?age=40-65&sex=M&payer=Medicare")
ENGINES = ("pandas", "duckdb")


def load_state(patients: int, log=print) -> float:
    """Generate or read the dataset and install the start-up state the page callbacks read
    (without models); returns the seconds spent."""
    import pandas as pd

    from callbacks import context
    from data.analytics.variants import variant_codes
    from data.cohort_filter import VARIANT_CODE_COLUMN, unavailable_fields
    from data.store import ensure_dataset

    started = time.perf_counter()
    dataset = ensure_dataset(log=log)
    frame = context.with_risk(context.build_cohort_frame(dataset), None)
    frame[VARIANT_CODE_COLUMN] = variant_codes(frame, dataset.pathway)
    enrolled = pd.to_datetime(frame["enrollment_date"])
    context._current = context.AppData(
        dataset=dataset, cohort_frame=frame, fingerprint=context.dataset_fingerprint(dataset),
        sites=tuple(sorted(str(s) for s in frame["site"].dropna().unique())),
        enrolled_first=enrolled.min().date(), enrolled_last=enrolled.max().date(),
        unavailable_filter_fields=unavailable_fields(frame))
    return time.perf_counter() - started


def _rendered(outputs) -> str:
    from plotly.utils import PlotlyJSONEncoder

    return json.dumps(outputs, cls=PlotlyJSONEncoder, sort_keys=True)


def engine_latency(engine: str, rounds: int) -> tuple[dict, dict]:
    """(latency figures, rendered outputs per page and query) on ``engine``."""
    from callbacks import analytics, context, overview, pathways
    from data.cohort_filter import CohortFilter

    os.environ["CAREPATH_ANALYTICS_ENGINE"] = engine
    pages = {"overview": overview.update_overview, "pathways": pathways.update_pathways}
    started = time.perf_counter()
    analytics.engine().overview(CohortFilter())
    results = {"first_call_s": round(time.perf_counter() - started, 2)}  # DuckDB: copies the frame in
    rendered = {}
    for name, fn in pages.items():
        fn("")  # warm-up
        samples = [_timed(fn, q) for _ in range(rounds) for q in QUERIES]
        results[name] = _percentiles(samples)
        rendered[name] = {q: _rendered(fn(q)) for q in QUERIES}
    # The engine's part alone (filter + aggregates, no figures or components): what the setting changes.
    cohorts = [context.cohort_filter(q) for q in QUERIES]
    for name in pages:
        ask = getattr(analytics.engine(), name)
        results[f"{name}_engine_only"] = _percentiles([_timed(ask, c) for _ in range(rounds) for c in cohorts])
    return results, rendered


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--var-dir", type=Path, help="reuse a var dir (data) between runs")
    args = parser.parse_args()
    var_dir = args.var_dir or Path(tempfile.mkdtemp(prefix="carepath-bench-"))
    os.environ.update({"CAREPATH_VAR_DIR": str(var_dir), "CAREPATH_PATIENTS": str(args.patients)})

    load_s = load_state(args.patients, log=lambda message: print("   ", message, flush=True))
    print(f"dataset + cohort frame: {load_s:.1f} s", flush=True)
    latency, rendered = {}, {}
    for engine in ENGINES:
        latency[engine], rendered[engine] = engine_latency(engine, args.rounds)
        print(engine, json.dumps(latency[engine]), flush=True)
    differing = [f"{page} {q!r}" for page in rendered["pandas"] for q in QUERIES
                 if rendered["pandas"][page][q] != rendered["duckdb"][page][q]]
    ratio = {page: round(latency["pandas"][page]["p95_ms"] / latency["duckdb"][page]["p95_ms"], 2)
             for page in ("overview", "pathways", "overview_engine_only", "pathways_engine_only")}
    print("pandas p95 / duckdb p95:", ratio, "| outputs identical:", not differing, differing[:3], flush=True)
    result = {"date": str(date.today()), "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}", "patients": args.patients, "queries": list(QUERIES),
              "rounds": args.rounds, "dataset_and_frame_s": round(load_s, 1), "callbacks": latency,
              "pandas_over_duckdb_p95": ratio, "outputs_identical": not differing, "differing": differing}
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / f"warehouse-{args.patients}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
