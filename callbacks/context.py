"""Server-side state shared by every callback, kept in process memory: a thin accessor.

The state itself (dataset, derived tables, models, cohort frame, scenario engine, patient
look-up, outreach log) is built once at start-up by the UI-free ``ml.service.start``; the
derived tables are kept as Parquet in the cache folder by ``ml.workspace``, so workers
started without ``--preload`` (or a restarted one) read them instead of deriving them.
Callbacks ask this module for data and compute small aggregates; they never read files,
derive journeys or train.
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Callable

import numpy as np
import pandas as pd
from flask import Flask
from flask_caching import Cache

from data.cohort_filter import CohortFilter, apply_cohort, parse_query
from data.settings import Settings, get_settings
# The start-up state and its parts live in the UI-free layer; re-exported for the callbacks and tests.
from ml.service import (PATIENT_ATTRIBUTES, AppData, PatientLookup, build_cohort_frame,  # noqa: F401
                        connect_outreach, dataset_fingerprint, open_outreach, start, with_risk)

cache = Cache()


def patient_record(patient_id: str) -> pd.Series | None:
    """The patient's row of dataset.patients, or None for an unknown id."""
    app_data = current()
    position = app_data.lookup.patient_rows.get(patient_id)
    return None if position is None else app_data.dataset.patients.iloc[position]


def patient_journey(patient_id: str) -> pd.Series | None:
    """The patient's row of the (unfiltered) cohort frame: journey status, dates, risk."""
    app_data = current()
    frame = app_data.cohort_frame
    matches = frame.index[frame["patient_id"].to_numpy() == patient_id]
    return None if len(matches) == 0 else frame.loc[matches[0]]


def patient_events(patient_id: str) -> pd.DataFrame:
    """The patient's events in date order (empty for no events or an unknown id)."""
    app_data = current()
    events = app_data.dataset.events
    positions = app_data.lookup.event_rows.get(patient_id)
    if positions is None:
        return events.iloc[0:0]
    return events.iloc[positions].sort_values("date", kind="stable")


def patient_features(patient_id: str) -> pd.Series | None:
    """The model feature row a scored patient was scored on, or None if not scored."""
    features = current().lookup.scoring_features
    if features.empty or patient_id not in features.index:
        return None
    return features.loc[patient_id]


_current: AppData | None = None


def cache_config(settings: Settings) -> dict:
    """Redis when configured (shared by every worker and host), else files on disk.
    Never SimpleCache: it is per process, so gunicorn workers would disagree."""
    if settings.redis_url:
        return {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": settings.redis_url,
                "CACHE_KEY_PREFIX": "carepath:", "CACHE_DEFAULT_TIMEOUT": 0}
    return {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(settings.cache_dir),
            "CACHE_THRESHOLD": 100, "CACHE_DEFAULT_TIMEOUT": 0}


REDIS_CONNECT_TIMEOUT_SECONDS = 2.0


def redis_unreachable(url: str) -> str | None:
    """None when the Redis at ``url`` answers a PING, else why not (in words)."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
                                      socket_timeout=REDIS_CONNECT_TIMEOUT_SECONDS)
        client.ping()
        client.close()
    except (redis.RedisError, OSError, ValueError) as error:
        return str(error) or type(error).__name__
    return None


def init_cache(server: Flask, settings: Settings | None = None, log: Callable[[str], None] = print) -> None:
    """The first start-up step: the runtime folder is checked (data.store.prepare_runtime) and
    the cache opened. The cache is an optimisation, so a Redis that cannot be reached means
    the file cache, with a warning, not a server that will not start."""
    from data.store import prepare_runtime  # late import, as in load()

    settings = settings or get_settings()
    if settings.redis_url:
        reason = redis_unreachable(settings.redis_url)
        if reason:
            log(f"warning: REDIS_URL {_redis_location(settings.redis_url)} cannot be reached ({reason}); "
                f"using the file cache in {settings.cache_dir} instead")
            settings = replace(settings, redis_url=None)
    prepare_runtime(settings, log)
    cache.init_app(server, config=cache_config(settings))


def _redis_location(url: str) -> str:
    """host:port/db of a Redis URL, without any password in it."""
    return url.split("@")[-1].split("://")[-1]


# When the database could not be opened at start-up, try again at most this often (on use),
# so a database that comes back needs no restart. A pool that lost its server reconnects by itself.
OUTREACH_RETRY_SECONDS = 30.0
_outreach_retry = {"at": float("inf"), "settings": None, "log": print}
_outreach_retry_lock = threading.Lock()


def outreach_log():
    """The outreach log, or DatabaseUnavailable with the reason it could not be opened."""
    from database.outreach import DatabaseUnavailable

    global _current
    app_data = current()
    if app_data.outreach is None and time.monotonic() >= _outreach_retry["at"]:
        with _outreach_retry_lock:
            app_data = current()
            if app_data.outreach is None and time.monotonic() >= _outreach_retry["at"]:
                _outreach_retry["at"] = time.monotonic() + OUTREACH_RETRY_SECONDS
                outreach, reason = open_outreach(_outreach_retry["settings"], app_data.models, _outreach_retry["log"],
                                                 at_start_up=False)
                _current = app_data = replace(app_data, outreach=outreach, outreach_unavailable=reason)
    if app_data.outreach is None:
        raise DatabaseUnavailable(app_data.outreach_unavailable or "The outreach log is not open.")
    return app_data.outreach


def load(server: Flask, dataset=None, settings: Settings | None = None,
         log: Callable[[str], None] = print, training_config=None) -> AppData:
    """Build the start-up state (ml.service.start) and keep it; call once at start-up, after
    ``init_cache``. ``server`` is the Flask app the state serves (kept for the callers' sake)."""
    global _current
    settings = settings or get_settings()
    app_data = start(settings, dataset=dataset, log=log, training_config=training_config)
    _outreach_retry.update(at=time.monotonic() + OUTREACH_RETRY_SECONDS if app_data.outreach is None else float("inf"),
                           settings=settings, log=log)
    _current = app_data
    return _current


def is_ready() -> bool:
    return _current is not None


def current() -> AppData:
    if _current is None:
        raise RuntimeError("CarePath data is not loaded yet: create_app() loads it at start-up")
    return _current


def pathway():
    """The loaded dataset's pathway definition (data.pathway.Pathway)."""
    return current().dataset.pathway


def cohort_filter(query: str | None) -> CohortFilter:
    app_data = current()
    return parse_query(query, app_data.sites, app_data.unavailable_filter_fields,
                       app_data.dataset.pathway.program_names, app_data.dataset.pathway)


def cohort_rows(query: str | None) -> np.ndarray:
    """Positions in the cohort frame of the patients in the cohort (no copy of their rows),
    from the analytics engine (callbacks.analytics)."""
    from callbacks import analytics  # late: analytics reads this module's state

    return analytics.cohort_rows(cohort_filter(query))


def cohort_frame(query: str | None) -> pd.DataFrame:
    """The patients in the cohort described by a URL query string."""
    return apply_cohort(current().cohort_frame, cohort_filter(query), pathway())
