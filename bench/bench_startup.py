"""Benchmark the start-up path in-process: dataset -> derived tables -> models -> cohort frame ->
scenario engine -> patient look-up (what ``create_app`` runs before serving).

    .venv/bin/python bench/bench_startup.py --var DIR --patients 50000 --prepare   # generate once
    .venv/bin/python bench/bench_startup.py --var DIR --first    # no models, no derived-table cache
    .venv/bin/python bench/bench_startup.py --var DIR            # cached start (models + caches kept)
    .venv/bin/python bench/bench_startup.py --var DIR --gunicorn # cached start of the served app: seconds
                                                                 # from launching gunicorn to /healthz 200
    .venv/bin/python bench/bench_startup.py --var DIR --first --log   # with the start-up log, timed

--log prints every start-up log line (training's own split: CV, calibration, explanations, the
benefit model) with the seconds since the start, for a breakdown of where the time goes.

Time the whole process from outside (wall, CPU, peak RSS), e.g.
    /usr/bin/time -v .venv/bin/python bench/bench_startup.py --var DIR --first
The script prints its own split (seconds to load the dataset, then to finish loading) too.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var", required=True, type=Path, help="scratch runtime folder (CAREPATH_VAR_DIR)")
    parser.add_argument("--patients", type=int, default=50000)
    parser.add_argument("--prepare", action="store_true", help="only generate the dataset")
    parser.add_argument("--first", action="store_true",
                        help="remove models, cache and outreach database first: a first start on existing data")
    parser.add_argument("--gunicorn", action="store_true",
                        help="time gunicorn (2 workers, --preload, as serve.sh) from launch to /healthz 200")
    parser.add_argument("--log", action="store_true", help="print the start-up log, each line with elapsed seconds")
    args = parser.parse_args(argv)
    var = args.var.resolve()
    os.environ.update(CAREPATH_VAR_DIR=str(var), CAREPATH_PATIENTS=str(args.patients))
    os.environ.pop("CAREPATH_DATA_DIR", None)
    os.environ.pop("REDIS_URL", None)
    if args.gunicorn:
        return _served_start()
    if args.first:
        for name in ("models", "cache"):
            shutil.rmtree(var / name, ignore_errors=True)
        (var / "carepath.db").unlink(missing_ok=True)

    from flask import Flask

    from data.settings import get_settings
    from data.store import ensure_dataset

    settings = get_settings()
    started = time.perf_counter()

    def log(message: str) -> None:
        if args.log:
            print(f"[{time.perf_counter() - started:7.1f} s] {message}", flush=True)

    dataset = ensure_dataset(settings, log=log)
    loaded = time.perf_counter()
    if args.prepare:
        print(f"dataset ready in {loaded - started:.1f} s")
        return 0
    from callbacks import context

    server = Flask("bench-startup")
    context.init_cache(server, settings, log=log)
    app_data = context.load(server, dataset=dataset, settings=settings, log=log)
    finished = time.perf_counter()
    print(f"read dataset {loaded - started:.1f} s; start-up state {finished - loaded:.1f} s; "
          f"{len(app_data.cohort_frame):,} patients, model {'yes' if app_data.model_available else 'no'}")
    return 0


def _served_start() -> int:
    import subprocess

    from scripts.local_server import free_port, wait_healthy

    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "--workers", "2", "--preload", "--no-control-socket",
                               "--bind", f"127.0.0.1:{port}", "wsgi:server"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", timeout=1800)
        print(f"gunicorn launch to /healthz 200: {time.perf_counter() - started:.1f} s")
    finally:
        server.terminate()
        server.wait(timeout=60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
