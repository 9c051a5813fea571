"""Benchmark the outreach database: write throughput and reading 10k logged attempts.

    python bench/bench_database.py [--postgres-url URL] [--writes 400] [--attempts 10000]

For each backend (a SQLite file in a temp dir; PostgreSQL when --postgres-url or
CAREPATH_TEST_POSTGRES_URL is given, in a fresh database created for the run):
1. single writer: ``record_attempt`` one after another (each its own transaction), attempts/s;
2. 8 concurrent writers: 8 processes (as gunicorn workers would be), each with its own engine;
3. reading: the log is filled to ``--attempts`` attempts over 3,000 patients (bulk insert), then
   ``latest_by_patient()``, ``attempts_frame()`` and ``team_summary()`` are timed (median of 5).
Writes bench/results/database.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from database.engine import make_engine  # noqa: E402
from database.outreach import DISPOSITIONS, OutreachLog, open_log  # noqa: E402
from database.tables import OutreachAttempt, OutreachItem  # noqa: E402

PATIENTS = 3000
CONCURRENT = 8


def _write_many(url: str, worker: int, count: int, start_barrier) -> None:
    log = OutreachLog(make_engine(url))
    start_barrier.wait()
    for i in range(count):
        log.record_attempt(f"W{worker}-P{i % 50}", DISPOSITIONS[i % len(DISPOSITIONS)], note=f"bench {worker}/{i}",
                           coordinator=f"c{worker}", awaited_stage="diagnosis", decision_date="2026-09-01")
    log.engine.dispose()


def single_writer(url: str, writes: int) -> float:
    log = OutreachLog(make_engine(url))
    started = time.perf_counter()
    for i in range(writes):
        log.record_attempt(f"S-P{i % 100}", DISPOSITIONS[i % len(DISPOSITIONS)], note="single", coordinator="ana",
                           awaited_stage="treatment", decision_date="2026-08-01")
    elapsed = time.perf_counter() - started
    log.engine.dispose()
    return writes / elapsed


def concurrent_writers(url: str, writes: int) -> float:
    per_worker = writes // CONCURRENT
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(CONCURRENT + 1)
    workers = [context.Process(target=_write_many, args=(url, w, per_worker, barrier)) for w in range(CONCURRENT)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if any(worker.exitcode != 0 for worker in workers):
        raise RuntimeError("a concurrent writer failed")
    return per_worker * CONCURRENT / elapsed


def fill(log: OutreachLog, total: int) -> None:
    """Bulk-insert attempts up to ``total`` (the read benchmark needs volume, not per-call speed)."""
    now = dt.datetime.now(dt.timezone.utc)
    have = len(log.attempts_frame())
    items_table, attempts_table = OutreachItem.__table__, OutreachAttempt.__table__
    with log.engine.begin() as connection:
        item_ids = connection.execute(items_table.insert().returning(items_table.c.id), [
            {"patient_id": f"F-P{p}", "awaited_stage": "diagnosis", "decision_date": dt.date(2026, 9, 1),
             "status": "open", "created_at": now, "owner": f"c{p % 6}"} for p in range(PATIENTS)]).scalars().all()
        rows = [{"item_id": item_ids[i % PATIENTS], "patient_id": f"F-P{i % PATIENTS}",
                 "disposition": DISPOSITIONS[i % len(DISPOSITIONS)], "note": "filled", "coordinator": f"c{i % 6}",
                 "attempted_at": now - dt.timedelta(minutes=total - i)} for i in range(total - have)]
        connection.execute(attempts_table.insert(), rows)


def _median_ms(fn, rounds: int = 5) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 1)


def run(url: str, writes: int, attempts: int) -> dict:
    log = open_log(url=url)
    out = {"single_writer_per_s": round(single_writer(url, writes)),
           f"{CONCURRENT}_concurrent_writers_per_s": round(concurrent_writers(url, writes))}
    stored = len(log.attempts_frame())
    assert stored == writes + (writes // CONCURRENT) * CONCURRENT, f"lost writes: {stored}"
    fill(log, attempts)
    out["attempts_read"] = len(log.attempts_frame())
    out["latest_by_patient_ms"] = _median_ms(log.latest_by_patient)
    out["patients_in_latest"] = len(log.latest_by_patient())
    out["attempts_frame_ms"] = _median_ms(log.attempts_frame)
    out["team_summary_30d_ms"] = _median_ms(lambda: log.team_summary(days=30))
    log.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres-url", default=os.environ.get("CAREPATH_TEST_POSTGRES_URL"))
    parser.add_argument("--writes", type=int, default=400)
    parser.add_argument("--attempts", type=int, default=10_000)
    args = parser.parse_args()
    results = {"date": str(dt.date.today()), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
               f"Python {platform.python_version()}", "writes": args.writes, "attempts": args.attempts}
    with tempfile.TemporaryDirectory(prefix="carepath-dbbench-") as folder:
        results["sqlite"] = run(f"sqlite:///{folder}/bench.db", args.writes, args.attempts)
        print("sqlite", json.dumps(results["sqlite"]), flush=True)
    if args.postgres_url:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin_url = make_url(args.postgres_url)
        if admin_url.drivername == "postgresql":
            admin_url = admin_url.set(drivername="postgresql+psycopg")
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        name = f"carepath_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = admin_url.set(database=name).render_as_string(hide_password=False)
            results["postgresql"] = run(url, args.writes, args.attempts)
            print("postgresql", json.dumps(results["postgresql"]), flush=True)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        print("PostgreSQL skipped: pass --postgres-url or set CAREPATH_TEST_POSTGRES_URL")
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "database.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
