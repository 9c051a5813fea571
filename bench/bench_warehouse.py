"""Benchmark the analytics engines behind every page a filter change updates (Overview, Pathways,
the Worklist, Journeys and Quality): filter-change
latency of the page callbacks on the pandas reference and on DuckDB (data/warehouse), whether
they agree, and how the latency grows from one population size to the next.

    .venv/bin/python bench/bench_warehouse.py --patients 50000 1000000 [--rounds 10] [--var-dir DIR]
        [--models [--fast-models]] [--data DIR] [--pages journeys ...] [--engines duckdb]

1. For each size, generates the synthetic dataset into a var dir (DIR/<patients> when several
   sizes are given, DIR itself for one; a scratch folder without --var-dir) or reads --data (a
   data folder, read only: e.g. a 10M dataset made elsewhere), and installs the start-up state the
   callbacks read. Without --models: the cohort frame alone (no risk tiers; the Worklist and the
   risk filters are left out). With --models: the app's whole start-up (ml.service.start), which
   loads the models from the var dir's registry or trains them once (--fast-models: fewer trees,
   for a bench that only needs risk scores to rank).
2. For each engine (CAREPATH_ANALYTICS_ENGINE = pandas, duckdb), times the page callbacks as
   plain functions (overview.update_overview, pathways.update_pathways, worklist.update_worklist
   with 25 rows; with --models, journeys.update_journeys at the first decision point and
   measures.update_quality on the first measure) over QUERIES x rounds: the server-side time of a filter change, p50/p95; and the
   engine's part alone. DuckDB's one-off registration (first call in a worker) is timed apart.
3. Checks the two engines' rendered outputs are identical for every page and query (when both are
   timed: --engines duckdb skips the pandas reference, e.g. at 10M where it takes seconds a call), and, with
   several sizes, reports p95 at each size / p95 at the first (same process, back to back).
Writes bench/results/warehouse-<patients>.json per size (and warehouse-scaling.json); with --pages
(only those pages timed), warehouse-<patients>-<pages>.json (and warehouse-scaling-<pages>.json).
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

from bench.bench_app import QUERIES as APP_QUERIES, _percentiles, _timed  # noqa: E402

# bench_app's filter changes (its risk-tier ones only when a model is loaded), plus a Sankey-node
# and an age/sex/payer cohort.
QUERIES = tuple(APP_QUERIES) + ("?program=diabetes&node=awaiting-diagnosis", "?age=40-65&sex=M&payer=Medicare")
ENGINES = ("pandas", "duckdb")
PAGES = ("overview", "pathways", "worklist", "journeys", "quality")


def load_state(models: bool, fast_models: bool, log=print) -> float:
    """Generate or read the dataset and install the start-up state the page callbacks read
    (with the models when ``models``); returns the seconds spent."""
    import pandas as pd

    from callbacks import context
    from data.analytics.variants import variant_codes
    from data.cohort_filter import VARIANT_CODE_COLUMN, unavailable_fields
    from data.store import ensure_dataset

    started = time.perf_counter()
    if models:
        config = None
        if fast_models:
            from ml.risk.models import TrainingConfig

            config = TrainingConfig(gb_max_iter=120, gb_learning_rate=0.08, gb_min_samples_leaf=40,
                                    bootstrap_resamples=20, explanation_permutations=4)
        context._current = context.start(log=log, training_config=config)
        return time.perf_counter() - started
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


def engine_latency(engine: str, rounds: int, queries: tuple[str, ...], only: tuple[str, ...] = PAGES) -> tuple[dict, dict]:
    """(latency figures, rendered outputs per page and query) on ``engine``, for the pages in ``only``."""
    from callbacks import analytics, context, journeys, measures, overview, pathways, worklist

    os.environ["CAREPATH_ANALYTICS_ENGINE"] = engine
    pages = {"overview": overview.update_overview, "pathways": pathways.update_pathways}
    scores = context.current().risk_scores
    if scores is not None:
        pages["worklist"] = lambda q: worklist.update_worklist(q, 25)
    if context.current().follow_up is not None:  # the analyst views: the first decision point, the first measure
        stage = context.pathway().decision_stages[0]
        pages["journeys"] = lambda q: journeys.update_journeys(q, stage, "", [])
    options = measures.measure_options()
    if options:
        pages["quality"] = lambda q: measures.update_quality(q, options[0]["value"])
    pages = {name: fn for name, fn in pages.items() if name in only}
    started = time.perf_counter()
    analytics.engine().overview(context.cohort_filter(""))
    results = {"first_call_s": round(time.perf_counter() - started, 2)}  # DuckDB: opens its file (or, without one, copies the frame in)
    if scores is not None:
        started = time.perf_counter()
        analytics.worklist(scores, context.cohort_filter(""), "risk", None)
        results["first_worklist_call_s"] = round(time.perf_counter() - started, 2)  # registers the scores
    rendered = {}
    for name, fn in pages.items():
        fn("")  # warm-up
        samples = [_timed(fn, q) for _ in range(rounds) for q in queries]
        results[name] = _percentiles(samples)
        rendered[name] = {q: _rendered(fn(q)) for q in queries}
    # The engine's part alone (filter + aggregates, no figures or components): what the setting changes.
    cohorts = [context.cohort_filter(q) for q in queries]
    for name in ("overview", "pathways"):
        if name not in only:
            continue
        ask = getattr(analytics.engine(), name)
        results[f"{name}_engine_only"] = _percentiles([_timed(ask, c) for _ in range(rounds) for c in cohorts])
    if scores is not None and "worklist" in only:
        ask = analytics.engine().worklist
        results["worklist_engine_only"] = _percentiles([_timed(ask, scores, c, "risk", None)
                                                        for _ in range(rounds) for c in cohorts])
    return results, rendered


def run_size(patients: int, var_dir: Path, data: Path | None, rounds: int, models: bool, fast_models: bool,
             only: tuple[str, ...] = PAGES, engines: tuple[str, ...] = ENGINES) -> dict:
    os.environ.update({"CAREPATH_VAR_DIR": str(var_dir), "CAREPATH_PATIENTS": str(patients)})
    if data is not None:
        os.environ["CAREPATH_DATA_DIR"] = str(data)
    load_s = load_state(models, fast_models, log=lambda message: print("   ", message, flush=True))
    from callbacks import context

    patients = len(context.current().cohort_frame)
    with_model = context.current().risk_scores is not None
    queries = QUERIES if with_model else tuple(q for q in QUERIES if "risk=" not in q)
    print(f"{patients:,} patients: start-up state in {load_s:.1f} s; model: {with_model}", flush=True)
    engine_file = context.current().engine_file
    if engine_file is not None:
        print(f"DuckDB reads {engine_file.name} ({engine_file.stat().st_size / 2**20:,.0f} MiB)", flush=True)
    latency, rendered = {}, {}
    for engine in engines:
        latency[engine], rendered[engine] = engine_latency(engine, rounds, queries, only)
        print(engine, json.dumps(latency[engine]), flush=True)
    ratio, differing = None, None
    if set(ENGINES) <= set(engines):  # both timed: compare their outputs and latencies
        differing = [f"{page} {q!r}" for page in rendered["pandas"] for q in queries
                     if rendered["pandas"][page][q] != rendered["duckdb"][page][q]]
        measured = [key for key in latency["duckdb"] if isinstance(latency["duckdb"][key], dict)]
        ratio = {key: round(latency["pandas"][key]["p95_ms"] / latency["duckdb"][key]["p95_ms"], 2) for key in measured}
        print("pandas p95 / duckdb p95:", ratio, "| outputs identical:", not differing, differing[:3], flush=True)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(f"peak RSS of this process: {peak_gb:.2f} GB", flush=True)
    result = {"date": str(date.today()), "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}", "load_average": os.getloadavg(), "patients": patients,
              "queries": list(queries), "pages": list(only), "rounds": rounds, "model": with_model, "state_s": round(load_s, 1),
              "engine_file_mib": None if engine_file is None else round(engine_file.stat().st_size / 2**20),
              "peak_rss_gb": round(peak_gb, 2), "callbacks": latency, "pandas_over_duckdb_p95": ratio,
              "outputs_identical": None if differing is None else not differing, "differing": differing}
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / f"warehouse-{patients}{_suffix(only)}.json").write_text(json.dumps(result, indent=2))
    context._current = None  # the next size's state replaces this one
    return result


def _suffix(only: tuple[str, ...]) -> str:
    """Results of some pages only go beside those of every page, not over them."""
    return "" if tuple(only) == PAGES else "-" + "-".join(only)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, nargs="+", default=[50_000])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--var-dir", type=Path, help="reuse a var dir (data, models) between runs; with several "
                                                    "sizes, one sub-folder per size")
    parser.add_argument("--data", type=Path, help="read this data folder (read only) instead of generating; one size")
    parser.add_argument("--models", action="store_true", help="load (or train once) the models: times the Worklist")
    parser.add_argument("--fast-models", action="store_true", help="train with fewer trees (only ranks are timed)")
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES),
                        help="time only these pages (default: every page)")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES),
                        help="time only these engines (default: both, and compare their outputs)")
    args = parser.parse_args()
    if args.data is not None and len(args.patients) > 1:
        parser.error("--data reads one dataset: give one --patients")
    base = args.var_dir or Path(tempfile.mkdtemp(prefix="carepath-bench-"))
    results = []
    for patients in args.patients:
        var_dir = base / str(patients) if len(args.patients) > 1 else base
        results.append(run_size(patients, var_dir, args.data, args.rounds, args.models, args.fast_models,
                                tuple(p for p in PAGES if p in args.pages),
                                tuple(e for e in ENGINES if e in args.engines)))
    if len(results) > 1 and "duckdb" in args.engines:
        first = results[0]["callbacks"]["duckdb"]
        scaling = {f"{r['patients']} / {results[0]['patients']}": {
            page: round(r["callbacks"]["duckdb"][page]["p95_ms"] / first[page]["p95_ms"], 2)
            for page in r["callbacks"]["duckdb"] if isinstance(first.get(page), dict)} for r in results[1:]}
        print("duckdb p95 ratio between sizes:", json.dumps(scaling), flush=True)
        only = tuple(p for p in PAGES if p in args.pages)
        (ROOT / "bench" / "results" / f"warehouse-scaling{_suffix(only)}.json").write_text(json.dumps(
            {"date": str(date.today()), "sizes": args.patients, "p95_ratio": scaling}, indent=2))


if __name__ == "__main__":
    main()
