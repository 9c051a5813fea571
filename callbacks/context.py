"""Server-side state shared by every callback: the dataset and the per-patient cohort
frame, computed once at start-up and kept in process memory.

Callbacks ask this module for data and compute small aggregates; they never read
files, derive journeys or train. The derived frame is also put in the flask-caching
store, so workers started without ``--preload`` (or a restarted one) skip the derivation.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable

import pandas as pd
from flask import Flask
from flask_caching import Cache

import data.journeys
from data.cohort_filter import VARIANT_CODE_COLUMN, CohortFilter, apply_cohort, parse_query, unavailable_fields
from data.analytics.time_to_next_stage import follow_up_for_dataset
from data.analytics.variants import variant_codes
from data.readiness import OK, assess
from data.settings import Settings, get_settings
from ml.code_fingerprint import DERIVATION_MODULES, pathway_fingerprint, source_fingerprint

cache = Cache()

# Patient attributes the cohort filter needs next to the journey columns.
PATIENT_ATTRIBUTES = ("age", "sex", "race_ethnicity", "payer", "region", "site")


@dataclass(frozen=True)
class AppData:
    dataset: object  # data.io.Dataset
    cohort_frame: pd.DataFrame  # one row per patient: journey columns + PATIENT_ATTRIBUTES
    fingerprint: str
    sites: tuple[str, ...]
    enrolled_first: dt.date
    enrolled_last: dt.date
    # Trained models, their report and the ranked scores of in-progress patients, loaded
    # from the model registry at start-up (trained there once on first run), never in a callback.
    models: object = None  # ml.training.ModelBundle
    # Why there is no model, when the data cannot support one (a data.readiness rule and its
    # threshold); None while models are simply not loaded.
    models_unavailable: str | None = None
    readiness: object = None  # data.readiness.ReadinessReport, computed once at start-up
    # Per-patient look-ups for the Patient page, built once at start-up.
    lookup: "PatientLookup | None" = None
    # What-if projections for the Scenarios page (ml.scenarios.ScenarioEngine): its attendance
    # model and pathway chain are fitted here once, so a slider move is array arithmetic.
    scenarios: object = None
    scenarios_unavailable: str | None = None  # why there is no engine, when the data cannot support one
    # Cohort-filter fields (data.cohort_filter.ATTRIBUTE_FIELDS) whose attribute the data does not
    # record or records with one value: hidden in the panel, ignored in a URL.
    unavailable_filter_fields: tuple[str, ...] = ()
    # The outreach log (database.outreach.OutreachLog), opened and migrated at start-up; when
    # its database cannot be reached, None and the reason in outreach_unavailable: the
    # analytics pages work regardless, the Worklist and the API say so.
    outreach: object = None
    outreach_unavailable: str | None = None
    # Time to the next stage from every decision point (data.analytics.time_to_next_stage),
    # derived once here for the Journeys page.
    follow_up: pd.DataFrame | None = None

    def has_breakdown(self, column: str) -> bool:
        """Whether a breakdown by this patient attribute can compare two or more groups."""
        return column in self.cohort_frame.columns and self.cohort_frame[column].dropna().nunique() >= 2

    @property
    def model_available(self) -> bool:
        return self.models is not None

    @property
    def risk_scores(self) -> pd.DataFrame | None:
        return None if self.models is None else self.models.scores


@dataclass(frozen=True)
class PatientLookup:
    """One patient's rows without scanning the big tables in a callback."""

    patient_rows: dict  # patient_id -> row position in dataset.patients (and the cohort frame)
    event_rows: dict  # patient_id -> row positions in dataset.events
    scoring_features: pd.DataFrame  # model feature rows of the scored patients, indexed by patient_id

    @classmethod
    def build(cls, dataset, models) -> "PatientLookup":
        from ml.features import scoring_rows  # late import, as for the registry below

        patient_ids = dataset.patients["patient_id"].astype(str).to_numpy()
        features = (scoring_rows(dataset.patients, dataset.events, dataset.as_of, dataset.pathway)
                    .set_index("patient_id")
                    if models is not None else pd.DataFrame())
        return cls(
            patient_rows={pid: i for i, pid in enumerate(patient_ids)},
            event_rows=dataset.events.groupby("patient_id", sort=False).indices,
            scoring_features=features,
        )


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


def dataset_fingerprint(dataset) -> str:
    """Changes whenever the data, the as-of date, the journey rules (their code) or the pathway
    definition change, so a cached derivation is never served for other inputs."""
    digest = hashlib.sha256()
    for table in (dataset.patients, dataset.events):
        digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    digest.update(str(pd.Timestamp(dataset.as_of).date()).encode())
    digest.update(source_fingerprint(DERIVATION_MODULES).encode())
    digest.update(pathway_fingerprint(dataset.pathway).encode())
    return digest.hexdigest()[:16]


def build_cohort_frame(dataset) -> pd.DataFrame:
    journeys = data.journeys.derive_journeys(dataset.patients, dataset.events, dataset.as_of, dataset.pathway)
    # An optional attribute left out of an in-memory table reads as missing, as read_dataset fills it.
    attributes = dataset.patients.reindex(columns=["patient_id", *PATIENT_ATTRIBUTES])
    return journeys.merge(attributes, on="patient_id", how="left", validate="one_to_one")


def with_risk(frame: pd.DataFrame, scores: pd.DataFrame | None) -> pd.DataFrame:
    """Add the shown risk and its tier (NaN/None for patients not awaiting a booked stage)."""
    frame = frame.drop(columns=["risk", "risk_tier"], errors="ignore")
    if scores is None:
        return frame.assign(risk=float("nan"), risk_tier=None)
    return frame.merge(scores[["patient_id", "risk", "risk_tier"]], on="patient_id", how="left",
                       validate="one_to_one")


def _cached_cohort_frame(dataset, fingerprint: str) -> pd.DataFrame:
    key = f"cohort-frame:{fingerprint}"
    frame = cache.get(key)
    if frame is None:
        frame = build_cohort_frame(dataset)
        cache.set(key, frame)
    return frame


def _scenario_engine(dataset, models, log: Callable[[str], None], readiness=None) -> tuple[object, str | None]:
    """(engine, None), or (None, the reason) when this data cannot support projections."""
    if models is None:
        return None, None
    from ml.scenarios import ScenarioEngine  # late import, as for the registry below

    try:
        return ScenarioEngine(dataset, models), None
    except ValueError as error:
        log(f"scenarios unavailable: {error}")
        reason = str(error)
        booking = None if readiness is None else readiness.finding("booking_coverage")
        if booking is not None and booking.status != OK:
            # The engine's own message ("too recent or too small") would point the user the wrong way.
            reason = f"the projections model attendance at booked appointments, and {booking.message.rstrip('.')}"
        return None, reason


def connect_outreach(settings: Settings, log: Callable[[str], None]) -> tuple[object, str | None]:
    """(the outreach log, opened and migrated, None), or (None, why not)."""
    from database.outreach import DatabaseUnavailable, open_log

    try:
        return open_log(settings), None
    except DatabaseUnavailable as error:
        log(f"outreach log unavailable: {error}")
        return None, str(error)
    except Exception as error:  # a malformed URL or a missing driver: start anyway, say why
        reason = f"The outreach log database ({settings.database_url.split('@')[-1]}) cannot be opened: {error}"
        log(f"outreach log unavailable: {reason}")
        return None, reason


def open_outreach(settings: Settings, models, log: Callable[[str], None],
                  at_start_up: bool = True, opened: tuple | None = None) -> tuple[object, str | None]:
    """(the outreach log, None), or (None, why not) when its database cannot be reached.
    Auto-closes the items of patients no longer waiting in this data.  ``opened``: the
    result of ``connect_outreach`` when the caller connected already (start-up does, once)."""
    import os

    from database.engine import redacted
    from database.outreach import DatabaseUnavailable, waiting_frame

    outreach, reason = opened if opened is not None else connect_outreach(settings, log)
    if outreach is None:
        return None, reason
    if models is not None:  # without scores nobody is known to be waiting: close nothing
        try:
            closed = outreach.close_resolved(waiting_frame(models.scores))
        except DatabaseUnavailable as error:
            log(f"outreach log unavailable: {error}")
            return None, str(error)
        if closed:
            log(f"outreach log: closed {closed} items whose patients no longer wait in this data")
    log(f"outreach log: {redacted(str(outreach.engine.url))}")
    if at_start_up:
        # No pooled connection may cross a fork (gunicorn --preload): each worker opens its own.
        outreach.engine.dispose()
        os.register_at_fork(after_in_child=lambda: outreach.engine.dispose(close=False))
    return outreach, None


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
    """Load (or generate, on first run) the dataset, derive the cohort frame and load (or
    train once) the models; call once at start-up, after ``init_cache``."""
    global _current
    settings = settings or get_settings()
    if dataset is None:
        from data.store import ensure_dataset  # late import: generating pulls in the simulator

        dataset = ensure_dataset(settings, log=log)
    from ml.registry import load_or_train  # late import: keeps Dash-free unit tests light

    from database.outreach import with_team_calls

    # One connection (and migration) at start-up, shared by the team's calls joining the
    # training data and the Worklist.
    connected = connect_outreach(settings, log)
    if connected[0] is not None:
        dataset = with_team_calls(dataset, settings, log, opened=connected[0])
    readiness = assess(dataset)
    for finding in readiness.blocking + readiness.warnings:
        log(f"readiness {finding}")
    # Any valid dataset starts: without a model the model pages say why (models_unavailable).
    models, models_unavailable = load_or_train(dataset, settings, training_config, log=log)
    fingerprint = dataset_fingerprint(dataset)
    with server.app_context():
        frame = with_risk(_cached_cohort_frame(dataset, fingerprint), None if models is None else models.scores)
    frame[VARIANT_CODE_COLUMN] = variant_codes(frame, dataset.pathway)  # the variant filter compares these
    enrolled = pd.to_datetime(frame["enrollment_date"])
    scenarios, scenarios_unavailable = _scenario_engine(dataset, models, log, readiness)
    outreach, outreach_unavailable = open_outreach(settings, models, log, opened=connected)
    _outreach_retry.update(at=time.monotonic() + OUTREACH_RETRY_SECONDS if outreach is None else float("inf"),
                           settings=settings, log=log)
    _current = AppData(
        dataset=dataset,
        cohort_frame=frame,
        fingerprint=fingerprint,
        sites=tuple(sorted(str(s) for s in frame["site"].dropna().unique())),
        enrolled_first=enrolled.min().date(),
        enrolled_last=enrolled.max().date(),
        models=models,
        models_unavailable=models_unavailable,
        readiness=readiness,
        lookup=PatientLookup.build(dataset, models),
        scenarios=scenarios,
        scenarios_unavailable=scenarios_unavailable,
        unavailable_filter_fields=unavailable_fields(frame),
        outreach=outreach,
        outreach_unavailable=outreach_unavailable,
        follow_up=follow_up_for_dataset(dataset, frame),
    )
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


def cohort_frame(query: str | None) -> pd.DataFrame:
    """The patients in the cohort described by a URL query string."""
    return apply_cohort(current().cohort_frame, cohort_filter(query), pathway())
