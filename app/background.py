"""Where long work runs off the request path: the Dash background-callback manager.

Re-training, the ground-truth check and large exports are background callbacks: the request
that starts one returns at once, the job runs in a process of its own, and the page polls
for progress and the result. By default the jobs run in processes forked from the web worker
and meet their results in a diskcache folder under the runtime cache folder, which every
gunicorn worker on the host shares. With ``CAREPATH_CELERY_BROKER_URL`` set (e.g. a Redis
URL) they go to Celery workers instead (``celery -A wsgi:celery_app worker``), so several app
hosts can share them.

Two things Dash leaves to the app, done here:
- the signed-in user reaches the job from the server's side (a ``custom_data`` hook reads
  the principal app.access put on the request), never from what the browser sends;
- a job's result key mixes in the user's scope and a fresh nonce, so two users asking the
  same thing at the same moment can never read each other's rows, and a result is deleted
  once read. Entries nobody collected (a closed tab) expire after ``JOB_RESULT_SECONDS``.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import dash

from callbacks import access_scope
from callbacks.jobs import PRINCIPAL_NAMESPACE
from data.settings import Settings

CELERY_BROKER_ENV = "CAREPATH_CELERY_BROKER_URL"
CELERY_RESULTS_ENV = "CAREPATH_CELERY_RESULT_URL"  # default: the broker URL (Redis serves both)
JOBS_FOLDER = "background-jobs"
# An uncollected result (or progress note) is dropped after this long: long enough for the
# slowest job (re-training at 1M patients takes minutes), short enough that patient rows
# from an abandoned export do not linger in the cache folder.
JOB_RESULT_SECONDS = 2 * 60 * 60


def celery_broker_url() -> str | None:
    return os.environ.get(CELERY_BROKER_ENV) or None


@dash.hooks.custom_data(PRINCIPAL_NAMESPACE)
def _principal_for_job(_context) -> dict | None:
    """The signed-in user of the request that starts (or polls) a callback, as plain data a
    job can carry across a fork or a Celery queue. Runs in the request, on the server."""
    principal = access_scope.current()
    if principal is None:
        return None
    values = asdict(principal)
    values["sites"] = None if principal.sites is None else list(principal.sites)
    return values


class _ScopedKeys:
    """Result keys that a request of another user, or another click, cannot land on."""

    def build_cache_key(self, fn, args, cache_args_to_ignore, triggered):
        key = super().build_cache_key(fn, args, cache_args_to_ignore, triggered)
        principal = access_scope.current()
        who = "none" if principal is None else f"{principal.username}|{principal.scope_key}"
        return hashlib.sha256(f"{key}|{who}|{secrets.token_hex(16)}".encode()).hexdigest()


def _expiring_cache(folder: Path):
    import diskcache

    class ExpiringCache(diskcache.Cache):
        """Dash's job writes results and progress without an expiry; give every entry one."""

        def set(self, key, value, expire=None, read=False, tag=None, retry=False):
            return super().set(key, value, expire=expire or JOB_RESULT_SECONDS, read=read, tag=tag, retry=retry)

    return ExpiringCache(str(folder))


def diskcache_manager(settings: Settings):
    """Jobs in forked processes; results in ``<cache dir>/background-jobs``, expired ones removed."""
    folder = settings.cache_dir / JOBS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    cache = _expiring_cache(folder)
    cache.expire()  # stale results of jobs nobody collected, e.g. before a restart

    class ScopedDiskcacheManager(_ScopedKeys, dash.DiskcacheManager):
        def call_job_fn(self, key, job_fn, args, context):
            self.handle.expire()  # cheap (an indexed delete): keeps the folder to live jobs
            return super().call_job_fn(key, job_fn, args, context)

    return ScopedDiskcacheManager(cache)


def celery_app(broker_url: str, result_url: str | None = None):
    from celery import Celery

    app = Celery("carepath", broker=broker_url, backend=result_url or broker_url)
    app.conf.update(result_expires=JOB_RESULT_SECONDS, task_track_started=True,
                    broker_connection_retry_on_startup=True)
    return app


def celery_manager(broker_url: str, result_url: str | None = None):
    """Jobs on Celery workers, which import wsgi (and so load the same data and models)."""
    class ScopedCeleryManager(_ScopedKeys, dash.CeleryManager):
        @property
        def celery_app(self):
            return self.handle

    return ScopedCeleryManager(celery_app(broker_url, result_url))


def run_before_each_job(manager, hook: Callable[[], None]) -> None:
    """Call ``hook`` in the worker before each of this app's Celery jobs (e.g. swap in newer
    models: ModelSwap.wait_for_current). Diskcache jobs are forked from a web worker, which has
    already looked on the request that started them, so they need nothing."""
    if not isinstance(manager, dash.CeleryManager):
        return
    from celery.signals import task_prerun

    app = manager.celery_app

    def _before(sender=None, **_):
        if sender is not None and getattr(sender, "app", None) is app:
            hook()

    task_prerun.connect(_before, weak=False)


def make_manager(settings: Settings, log: Callable[[str], None] = print):
    broker = celery_broker_url()
    if broker:
        log(f"background jobs: Celery at {broker.split('@')[-1]}")
        return celery_manager(broker, os.environ.get(CELERY_RESULTS_ENV) or None)
    return diskcache_manager(settings)
