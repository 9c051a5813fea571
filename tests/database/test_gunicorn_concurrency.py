"""Concurrent writes from several gunicorn workers lose nothing (SQLite and PostgreSQL), and a
database that cannot be reached leaves the served app working with the API answering 503.

Starts gunicorn (2 workers, --preload, as serve.sh does) on a free loopback port against the
session's small dataset and its already-trained models, then fires parallel POSTs from threads.
"""
from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest

from scripts.local_server import free_port
from tests.served_gunicorn import gunicorn_workers
from tests.database.conftest import BACKENDS

WRITERS = 20


@contextmanager
def served(small_dataset, isolated_var_dir, tmp_path, database_url):
    env = {**os.environ, "CAREPATH_VAR_DIR": str(tmp_path / "var"), "CAREPATH_DATA_DIR": str(small_dataset.source_dir),
           "CAREPATH_MODEL_DIR": str(isolated_var_dir / "models"), "CAREPATH_DATABASE_URL": database_url}
    log_path = tmp_path / "gunicorn.log"
    with gunicorn_workers(env, log_path, start_timeout=300) as base:
        yield base, log_path


_TOKEN: dict = {}


def api_token(database_url: str) -> str:
    """An admin's API token in the served app's database (every API call needs one)."""
    from app.access.store import open_store

    store = open_store(url=database_url)
    if store.users.get("t-api") is None:
        store.users.add("t-api", "admin", "a-long-enough-secret")
    _TOKEN["value"] = store.users.issue_token("t-api")
    store.engine.dispose()
    return _TOKEN["value"]


def _call(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict, dict]:
    data = None if body is None else json.dumps(body).encode()
    auth = {"Authorization": f"Bearer {_TOKEN['value']}"} if "value" in _TOKEN else {}
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **auth, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def _wait_for_both_workers(base: str, timeout: float = 120) -> None:
    """Bursts of concurrent /healthz requests until both workers have answered: /healthz is
    200 as soon as one is up, and a worker still finishing its start-up on a loaded machine
    would leave all 20 writers to the other (the concurrency under test would not happen)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    def pid(_):
        with urllib.request.urlopen(f"{base}/healthz", timeout=30) as response:
            return response.headers.get("X-Served-By")

    seen: set = set()
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(8) as pool:
        while len(seen - {None}) < 2:
            if time.monotonic() > deadline:
                raise AssertionError(f"only worker(s) {seen} answered within {timeout:.0f} s")
            seen.update(pool.map(pid, range(8)))


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_20_concurrent_writers_across_2_workers_store_every_attempt_once(small_dataset, small_models,
                                                                          isolated_var_dir, tmp_path,
                                                                          empty_database_url):
    from database.engine import make_engine
    from database.outreach import OutreachLog

    patients = list(small_models.scores["patient_id"].head(4))
    api_token(empty_database_url)
    with served(small_dataset, isolated_var_dir, tmp_path, empty_database_url) as (base, _log):
        _wait_for_both_workers(base)
        barrier = threading.Barrier(WRITERS)
        results: list = [None] * WRITERS

        def write(i: int) -> None:
            barrier.wait()  # all 20 at once
            results[i] = _call("POST", f"{base}/api/v1/outreach",
                               {"patient_id": patients[i % len(patients)], "disposition": "left_message",
                                "note": f"writer {i}"})

        threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = [r[0] for r in results]
        assert statuses == [201] * WRITERS, [r[1] for r in results if r[0] != 201]
        # Both workers took part (each answers from its own process).
        served_by = {r[2].get("X-Served-By") for r in results}
        by_api = sum(len(_call("GET", f"{base}/api/v1/outreach?patient_id={p}")[1]["attempts"]) for p in patients)
    log = OutreachLog(make_engine(empty_database_url))
    frame = log.attempts_frame()
    log.engine.dispose()
    assert len(frame) == WRITERS and by_api == WRITERS
    assert sorted(frame["note"]) == sorted(f"writer {i}" for i in range(WRITERS))  # each exactly once
    assert frame["id"].is_unique
    assert len(served_by - {None}) == 2, served_by


def test_served_app_starts_without_its_database_and_says_503(small_dataset, small_models, isolated_var_dir,
                                                              tmp_path):
    """The app starts and answers /healthz; with no database nobody can be recognised, so every
    protected request (API, callbacks) answers 503 saying why, never a page without sign-in."""
    _TOKEN.clear()
    closed = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/carepath"
    with served(small_dataset, isolated_var_dir, tmp_path, closed) as (base, log_path):
        status, body, _ = _call("POST", f"{base}/api/v1/outreach",
                                {"patient_id": small_models.scores["patient_id"].iloc[0], "disposition": "unreachable"},
                                headers={"Authorization": "Bearer cp_anything"})
        assert status == 503 and "cannot be reached" in body["error"]
        status, body, _ = _call("GET", f"{base}/_dash-layout")
        assert status == 503 and "cannot be reached" in body["error"]
        with urllib.request.urlopen(f"{base}/healthz", timeout=30) as response:
            assert response.status == 200
    lines = [line for line in log_path.read_text().splitlines() if "outreach log unavailable" in line]
    assert len(lines) == 1
