"""Background jobs on a real Celery worker through a real Redis (CAREPATH_TEST_REDIS_URL; scripts/test.sh
starts a throwaway server and sets it). The eager test (test_background_celery.py) runs the job in this
process on Celery's in-memory broker; here a worker process, started the way docs/operations.md says
(``celery -A ... worker``, importing wsgi.py with the same data, models and runtime folder as the web
app), finds the job's task by name, gets the requester's principal as JSON across Redis (the worker
accepts JSON messages only), and sends the result back through Redis. Once submitted straight through
the app's Celery manager, once through a served app (gunicorn, two workers) as a browser does.
"""
from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
import requests

from components import ids

REDIS_URL = os.environ.get("CAREPATH_TEST_REDIS_URL")
if os.environ.get("CAREPATH_TEST_REDIS_REQUIRED") and not REDIS_URL:  # scripts/test.sh (CI): never skip silently
    raise pytest.UsageError("CAREPATH_TEST_REDIS_REQUIRED is set but CAREPATH_TEST_REDIS_URL is not: "
                            "the Redis server did not start")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="CAREPATH_TEST_REDIS_URL is not set: real Celery worker "
                                                      "test skipped (scripts/test.sh starts a throwaway Redis)")

ROOT = Path(__file__).resolve().parents[2]
WORKER_APP = "tests.app.celery_worker_wsgi:celery_app"  # wsgi.py's celery_app, with the tests' training config
# Bounds on waiting, not timings under test: a loaded 2-core machine starts the worker in ~10 s.
WORKER_START_SECONDS = 240
JOB_SECONDS = 60
WORKER_LOG = "celery-worker.log"  # in the deployment's runtime folder


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


@contextmanager
def celery_worker(env: dict, log_path: Path, client_app, queue: str = "celery"):
    """A Celery worker (solo pool: one process, the one whose log we read) on ``queue``; yields its
    name once it answers a ping through the broker; stopped (warm shutdown, then killed) on exit."""
    name = f"carepath-test-{uuid.uuid4().hex[:8]}@localhost"
    command = [sys.executable, "-m", "celery", "-A", WORKER_APP, "worker", "--pool", "solo", "--concurrency", "1",
               "--hostname", name, "--queues", queue, "--loglevel", "INFO", "--logfile", str(log_path),
               "--without-gossip", "--without-mingle", "--without-heartbeat"]
    with open(log_path.with_suffix(".out"), "w") as output:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + WORKER_START_SECONDS
        while not client_app.control.ping(destination=[name], timeout=1.0):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the Celery worker did not start (exit {worker.poll()}):\n"
                                     f"{_tail(log_path.with_suffix('.out'))}\n{_tail(log_path)}")
        yield name, worker.pid
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


def _exported_ids(download: dict) -> list[str]:
    content = base64.b64decode(download["content"]).decode() if download.get("base64") else download["content"]
    return list(pd.read_csv(io.StringIO(content), dtype=str, keep_default_na=False)["Patient"])


@pytest.fixture(scope="module")
def deployment(small_dataset, small_models, isolated_var_dir, tmp_path_factory):
    """A Celery worker as the operations guide runs it, and the environment a web app beside it
    gets: the session's data and trained models, a runtime folder of their own (database, audit
    trail, secret key, cache) and Celery on the test Redis. Yields (env, runtime folder, worker pid)."""
    from app.background import CELERY_BROKER_ENV, CELERY_RESULTS_ENV, celery_app

    var_dir = tmp_path_factory.mktemp("celery-deployment")
    env = {**os.environ, "CAREPATH_VAR_DIR": str(var_dir), "CAREPATH_DATA_DIR": str(small_dataset.source_dir),
           "CAREPATH_MODEL_DIR": str(isolated_var_dir / "models"), CELERY_BROKER_ENV: REDIS_URL}
    for name in (CELERY_RESULTS_ENV, "CAREPATH_CACHE_DIR", "CAREPATH_DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    client = celery_app(REDIS_URL)
    try:
        with celery_worker(env, var_dir / WORKER_LOG, client) as (_name, pid):
            yield env, var_dir, pid
    finally:
        client.close()


def _export_key() -> str:
    from dash.background_callback.managers import BaseBackgroundCallbackManager

    from callbacks.worklist import export_job

    return next(k for k, fn, _ in BaseBackgroundCallbackManager.functions if fn is export_job)


def _worker_ran(log: str, task_id: str | None = None) -> int:
    """How many export tasks the worker logged as received and then succeeded (``task_id``: that one)."""
    task = f"Task background_callback_{_export_key()}[{task_id or ''}"
    received = [line for line in log.splitlines() if task in line and "] received" in line]
    succeeded = [line for line in log.splitlines() if task in line and "] succeeded" in line]
    return min(len(received), len(succeeded))


def _audited_exports(var_dir: Path, username: str) -> list[tuple[str, int]]:
    from app.access.store import open_store

    store = open_store(url=f"sqlite:///{var_dir / 'carepath.db'}")
    try:
        return [(row.role, row.patient_count) for row in store.audit.rows(username=username, action="export")]
    finally:
        store.engine.dispose()


def test_a_worker_runs_the_export_for_the_requester_and_answers_through_redis(dash_app, app_data, deployment):
    from dash.background_callback.managers import BaseBackgroundCallbackManager

    from app.access import current_store
    from app.background import JOB_RESULT_SECONDS, _principal_for_job, celery_manager
    from callbacks import access_scope
    from callbacks.access_scope import Principal
    from callbacks.jobs import PRINCIPAL_NAMESPACE
    from callbacks.worklist import worklist_view

    _env, var_dir, worker_pid = deployment
    site = app_data.sites[0]
    everyone = [row["patient_id"] for row in worklist_view("", "all", "risk").rows]
    patients = app_data.dataset.patients.set_index("patient_id")
    assert set(patients.loc[everyone, "site"].astype(str)) != {site}  # other sites have patients to leave out

    # This process plays the web app: the app's Celery manager on the same Redis, not eager.
    manager = celery_manager(REDIS_URL)
    try:
        assert not manager.celery_app.conf.task_always_eager
        key = _export_key()
        username = f"t-worker-{uuid.uuid4().hex[:8]}"
        with access_scope.acting_as(Principal(username, "coordinator", (site,))):
            principal = _principal_for_job(None)  # what the app's custom_data hook reads in the request
        result_key = f"t-worker-export-{uuid.uuid4().hex}"
        task_id = manager.call_job_fn(result_key, manager.func_registry[key], [1, "", "all", "risk", False, None, None],
                                      {"custom_data": {PRINCIPAL_NAMESPACE: principal}})
        deadline = time.monotonic() + JOB_SECONDS
        while not manager.result_ready(result_key):
            assert time.monotonic() < deadline, f"no result from the worker:\n{_tail(var_dir / WORKER_LOG)}"
            time.sleep(0.2)
        state = manager.celery_app.AsyncResult(task_id).state
        # Patient rows do not linger in Redis when nobody collects them (a closed tab).
        expires_in = manager.celery_app.backend.client.ttl(result_key)
        answer = manager.get_result(result_key, task_id)

        # Computed in the worker: it logged the task (found by the name this process sent) as done,
        # and the result store (Redis) holds the task's state, which eager runs never write there.
        assert _worker_ran((var_dir / WORKER_LOG).read_text(errors="replace"), task_id) == 1, \
            _tail(var_dir / WORKER_LOG)
        assert worker_pid != os.getpid() and state == "SUCCESS"
        assert 0 < expires_in <= JOB_RESULT_SECONDS
        # The answer came back through Redis and was deleted once read.
        assert isinstance(answer, list) and "background_callback_error" not in answer, answer
        assert manager.celery_app.backend.get(result_key) is None
        download, note = answer
        exported = _exported_ids(download)
        # As the requesting coordinator: their site's patients only, in the worklist's order.
        assert note is None and exported and set(patients.loc[exported, "site"].astype(str)) == {site}
        assert exported == [pid for pid in everyone if pid in set(exported)] and len(exported) < len(everyone)
        # ... and audited as them, in the worker's database, not this process's.
        assert _audited_exports(var_dir, username) == [("coordinator", len(exported))]
        assert current_store().audit.rows(username=username) == []
    finally:
        BaseBackgroundCallbackManager.managers.remove(manager)
        manager.celery_app.close()


def test_a_served_apps_export_runs_on_the_worker_for_the_signed_in_coordinator(app_data, deployment):
    """What a browser does: the export request to a served app (gunicorn, two workers, Celery from
    the environment) returns signed handles at once; the polls, answered by either web worker, find
    the result the Celery worker put in Redis. The principal comes from the real request."""
    from app.access.store import open_store
    from tests.app.test_large_export_served import _export, _grid_rows
    from tests.served_gunicorn import gunicorn_workers

    env, var_dir, _worker_pid = deployment
    site = app_data.sites[0]
    username = f"t-served-{uuid.uuid4().hex[:8]}"
    store = open_store(url=f"sqlite:///{var_dir / 'carepath.db'}")
    try:
        store.users.add(username, "coordinator", "a-long-enough-secret", [site])
        token = store.users.issue_token(username)
    finally:
        store.engine.dispose()
    ran_before = _worker_ran((var_dir / WORKER_LOG).read_text(errors="replace"))
    log_path = var_dir / "gunicorn.log"
    with gunicorn_workers(env, log_path, start_timeout=300) as base:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        rows = _grid_rows(session, base)  # what the coordinator's grid shows: their site only
        download = _export(session, base, timeout=JOB_SECONDS)[ids.WORKLIST_DOWNLOAD]["data"]
    assert "background jobs: Celery at " in log_path.read_text()  # the served app chose Celery itself
    assert _worker_ran((var_dir / WORKER_LOG).read_text(errors="replace")) == ran_before + 1, \
        _tail(var_dir / WORKER_LOG)
    exported = _exported_ids(download)
    patients = app_data.dataset.patients.set_index("patient_id")
    assert exported and exported == [row["patient_id"] for row in rows]
    assert set(patients.loc[exported, "site"].astype(str)) == {site}
    assert _audited_exports(var_dir, username) == [("coordinator", len(exported))]
