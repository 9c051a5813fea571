"""Benchmark the app: start-up, filter-change callback latency, scenario latency, first page load.

    .venv/bin/python bench/bench_app.py --patients 50000 [--rounds 15] [--browser]

1. Generates the dataset and trains the models into a scratch var dir (first run);
   the gunicorn start in step 4 then loads both from that cache.
2. Times the page callbacks (plain functions) for a set of filter changes: the
   server-side time of a filter change, p50/p95 over all calls.
3. Times scenario projections (slider changes) and the ground-truth check.
4. Starts gunicorn (2 workers, --preload) on a free loopback port, waits for /healthz
   and times the first page load: GET / and the Dash layout/dependency requests, and,
   with --browser, headless Chromium until the Overview funnel is drawn.
Writes bench/results/app-<patients>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.pathway import DECISION_STAGES  # noqa: E402
from scripts.local_server import free_port, headless_chromium, wait_healthy  # noqa: E402

QUERIES = ("", "?program=diabetes", "?program=colorectal&payer=Medicaid", "?sex=F&age=50-80", "?risk=high",
           "?site=Harbor", "?from=2024-01-01&to=2025-06-30", "?region=rural&payer=Uninsured&payer=Medicaid",
           "?race=Black&program=depression", "?program=diabetes&risk=high&risk=medium")


WAIT_CUT_STEPS = np.arange(0, 0.65, 0.05)  # the Scenarios page's wait-cut slider positions


def _percentiles(samples_ms: list[float]) -> dict:
    return {"n": len(samples_ms), "p50_ms": round(float(np.percentile(samples_ms, 50)), 1),
            "p95_ms": round(float(np.percentile(samples_ms, 95)), 1), "max_ms": round(float(max(samples_ms)), 1)}


def _timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - started) * 1000


def callback_latency(rounds: int) -> dict:
    from callbacks import context, overview, pathways, worklist

    pages = {"overview": lambda q: overview.update_overview(q), "pathways": lambda q: pathways.update_pathways(q),
             "worklist": lambda q: worklist.update_worklist(q, 25)}
    results, all_samples = {}, []
    for name, fn in pages.items():
        fn("")  # warm-up
        samples = [_timed(fn, q) for _ in range(rounds) for q in QUERIES]
        results[name] = _percentiles(samples)
        all_samples += samples
    results["all_pages"] = _percentiles(all_samples)
    engine = getattr(context.current(), "scenarios", None)
    if engine is not None:
        from ml.scenarios.levers import PRESETS, ScenarioLevers

        rng = np.random.default_rng(0)
        ids = context.cohort_frame("?program=diabetes")["patient_id"]
        slider = []
        for i in range(rounds * 4):
            levers = ScenarioLevers(
                wait_cut_pct={s: float(rng.choice(WAIT_CUT_STEPS)) for s in DECISION_STAGES},
                outreach_top_pct=float(rng.choice([0, 0.1, 0.2, 0.5])), outreach_effectiveness=0.3,
                cost_per_contact=45.0, screening_uptake_pp=float(rng.choice([0, 0.05])))
            slider.append(_timed(engine.project, levers, ids if i % 2 else None, False))
        results["scenario_slider"] = _percentiles(slider)
        results["scenario_truth"] = _percentiles([_timed(engine.project, PRESETS["pathway_optimisation"], None, True)
                                                  for _ in range(3)])
    return results


def _get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def gunicorn_first_load(env: dict, browser: bool) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "--workers", "2", "--preload",
                               "--no-control-socket", "--bind", f"127.0.0.1:{port}", "wsgi:server"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(base, timeout=600)
        ready_s = time.perf_counter() - started
        requests_ms = {path: _get(base + path) for path in ("/", "/_dash-layout", "/_dash-dependencies")}
        out = {"startup_to_healthz_s": round(ready_s, 2),
               "first_load_requests_ms": {k: round(v, 1) for k, v in requests_ms.items()},
               "first_load_requests_total_ms": round(sum(requests_ms.values()), 1)}
        if browser:
            out["browser_first_load_s"] = _browser_first_load(base)
        return out
    finally:
        server.terminate()
        server.wait(timeout=30)


def _browser_first_load(base: str) -> float | None:
    """Headless Chromium: seconds from navigation until the Overview funnel is drawn."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = headless_chromium()
    try:
        started = time.perf_counter()
        driver.get(base + "/")
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .trace"))
        return round(time.perf_counter() - started, 2)
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--var-dir", type=Path, help="reuse a var dir (data and models) between runs")
    args = parser.parse_args()
    var_dir = args.var_dir or Path(tempfile.mkdtemp(prefix="carepath-bench-"))
    env = {**os.environ, "CAREPATH_VAR_DIR": str(var_dir), "CAREPATH_PATIENTS": str(args.patients)}
    os.environ.update(env)

    from app import create_app

    started = time.perf_counter()
    create_app(log=lambda message: print("   ", message, flush=True))
    first_start = time.perf_counter() - started
    print(f"first start (generate + train, or load): {first_start:.1f} s", flush=True)
    latency = callback_latency(args.rounds)
    print(json.dumps(latency, indent=1), flush=True)
    served = gunicorn_first_load(env, args.browser)
    print(json.dumps(served, indent=1), flush=True)
    result = {"date": str(date.today()), "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}", "patients": args.patients,
              "first_start_s": round(first_start, 1),
              "callbacks": latency, "gunicorn": served}
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / f"app-{args.patients}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
