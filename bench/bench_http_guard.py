"""What the hardened HTTP surface and the thread-based training cost.

    .venv/bin/python bench/bench_http_guard.py [--patients 3000] [--rounds 30] [--skip-training]

On a small synthetic dataset (trained into a scratch var dir): the Worklist response size
(capacity "all") as junk is added to the cohort query; the time the callback-body check
takes for a small body and for a grid export's body (~1 MB of rows); and one training run
each with joblib's loky processes, with threads whose OpenMP pools are not capped, and with
ml.registry.train_in_threads (threads, each capped to its share of the cores).
Writes bench/results/http-guard.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _timed(function, rounds: int) -> dict:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return {"n": rounds, "p50_ms": round(float(np.percentile(samples, 50)), 2),
            "p95_ms": round(float(np.percentile(samples, 95)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--var-dir", type=Path, default=Path(tempfile.gettempdir()) / "carepath-bench-http")
    args = parser.parse_args()
    os.environ["CAREPATH_VAR_DIR"] = str(args.var_dir)
    os.environ["CAREPATH_PATIENTS"] = str(args.patients)

    import joblib

    from app import create_app
    from app.http_guard import callback_body_problem, nests_deeper_than
    from components import ids
    from ml.risk.models import TrainingConfig
    from ml.registry import model_key, train_in_threads
    from ml.risk.training import train_models
    from tests.app.test_http_callbacks import callback_body

    config = TrainingConfig(gb_max_iter=120, gb_learning_rate=0.08, gb_min_samples_leaf=40, bootstrap_resamples=20,
                            explanation_permutations=4)
    app = create_app(log=lambda message: None, training_config=config)
    client = app.server.test_client()
    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                     "patients": args.patients}

    sizes = {}
    for junk in (0, 100, 350, 700):
        query = "?program=diabetes" + "".join(f"&junk{i}=x" for i in range(junk))
        body = callback_body(app, ids.WORKLIST_GRID, "rowData",
                             {(ids.COHORT_QUERY, "data"): query, (ids.WORKLIST_CAPACITY, "value"): "all",
                              (ids.WORKLIST_SORT, "value"): "risk"})
        response = client.post("/_dash-update-component", json=body)
        rows = len(json.loads(response.get_data())["response"][ids.WORKLIST_GRID]["rowData"])
        sizes[len(query)] = {"status": response.status_code, "bytes": len(response.get_data()), "rows": rows,
                             "raw_echo_estimate_bytes": len(response.get_data()) + rows * (len(query) - 17)}
    results["worklist_response_by_query_chars"] = sizes

    grid_rows = [{"rank": i, "patient_id": f"P{i:07d}", "patient_link": f"[P{i:07d}](/patient?id=P{i:07d})",
                  "program": "Diabetes", "stage_name": "Colonoscopy", "closes_text": "in 12 days · 2026-10-12",
                  "risk": 0.4, "risk_text": "40%", "risk_tier": "High", "top_drivers": "long wait; distance"}
                 for i in range(2000)]
    export = callback_body(app, ids.WORKLIST_DOWNLOAD, "data",
                           {(ids.WORKLIST_EXPORT_BUTTON, "n_clicks"): 1},
                           state={(ids.WORKLIST_GRID, "virtualRowData"): grid_rows,
                                  (ids.WORKLIST_GRID, "rowData"): grid_rows})
    small = callback_body(app, ids.WORKLIST_GRID, "rowData", {(ids.COHORT_QUERY, "data"): ""})

    def check(text: str):
        parsed = json.loads(text)
        nests_deeper_than(parsed, 32)
        callback_body_problem(parsed, app.callback_map)

    for name, body in (("small_body", small), ("grid_export_body", export)):
        text = json.dumps(body)
        results[f"guard_{name}"] = {"bytes": len(text), **_timed(lambda t=text: check(t), args.rounds)}

    if not args.skip_training:
        from data.store import ensure_dataset

        dataset = ensure_dataset(log=lambda message: None)
        key = model_key(dataset, config)
        quiet = lambda message: None

        def loky():
            with joblib.parallel_config(backend="loky"):
                train_models(dataset, config, key=key, log=quiet)

        def threads_uncapped():
            with joblib.parallel_config(backend="threading"):
                train_models(dataset, config, key=key, log=quiet)

        for name, run in (("loky_processes", loky), ("threads_uncapped", threads_uncapped),
                          ("threads_capped_registry", lambda: train_in_threads(dataset, config, key, quiet))):
            started = time.perf_counter()
            run()
            results[f"training_{name}_s"] = round(time.perf_counter() - started, 1)

    out = ROOT / "bench" / "results" / "http-guard.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
