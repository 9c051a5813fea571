"""The app's start-up state, built by one UI-free function (``start``): dataset -> analytic
workspace -> readiness -> models (registry) -> cohort frame -> analytics engine file -> scenario engine -> patient
look-up -> outreach log. Every derived table comes from the dataset's one workspace
(ml.workspace), so nothing here derives journeys or decision points a second time.

callbacks/context.py keeps the result and answers the callbacks' questions; it orchestrates nothing.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from data.analytics.time_to_next_stage import StageFollowUp
from data.analytics.variants import variant_codes
from data.cohort_filter import VARIANT_CODE_COLUMN, unavailable_fields
from data.measures.cohort import ATTRIBUTES
from data.readiness import OK, assess
from data.settings import Settings, get_settings
from ml.code_fingerprint import ENGINE_FILE_MODULES, source_fingerprint
from ml.workspace import AnalyticWorkspace, dataset_fingerprint

__all__ = ["AppData", "PATIENT_ATTRIBUTES", "PatientLookup", "build_cohort_frame", "connect_outreach",
           "dataset_fingerprint", "open_outreach", "scenario_engine", "start", "with_risk"]

Log = Callable[[str], None]

# Patient attributes the cohort filter needs next to the journey columns (the measures' frame too).
PATIENT_ATTRIBUTES = ATTRIBUTES


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
    models: object = None  # ml.risk.training.ModelBundle
    # Why there is no model, when the data cannot support one (a data.readiness rule and its
    # threshold); None while models are simply not loaded.
    models_unavailable: str | None = None
    readiness: object = None  # data.readiness.ReadinessReport, computed once at start-up
    # Per-patient look-ups for the Patient page, built once at start-up.
    lookup: "PatientLookup | None" = None
    # What-if projections for the Scenarios page (ml.scenarios.engine.ScenarioEngine): its attendance
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
    # The tables derived from the dataset (ml.workspace.AnalyticWorkspace), each derived once.
    workspace: AnalyticWorkspace | None = None
    # The analytics engine's DuckDB file of cohort_frame (data.warehouse.engine_file), written at
    # start-up and opened read-only by every worker; None: each process holds the tables in memory.
    engine_file: Path | None = None

    def has_breakdown(self, column: str) -> bool:
        """Whether a breakdown by this patient attribute can compare two or more groups.
        Answered once per column: counting distinct values takes 20 ms at 1M patients, and the
        Pathways page asks twice on every filter change."""
        known = self.__dict__.setdefault("_has_breakdown", {})  # not a field: replace() starts afresh
        if column not in known:
            known[column] = column in self.cohort_frame.columns and self.cohort_frame[column].dropna().nunique() >= 2
        return known[column]

    def measure_evaluation(self, program: str, measure) -> tuple[pd.DataFrame, np.ndarray]:
        """(data.measures.evaluate_patients over the whole cohort frame, each row's position in the
        frame), once per measure: a patient's evaluation reads their own row only, so a cohort's
        is the rows of its patients, in the same order (callbacks.measures)."""
        from data.measures import evaluate_patients

        known = self.__dict__.setdefault("_measure_evaluations", {})  # not a field: replace() starts afresh
        key = (program, measure)
        if key not in known:
            evaluated = evaluate_patients(self.cohort_frame, program, measure, self.dataset.as_of)
            rows = pd.Index(self.cohort_frame["patient_id"]).get_indexer(evaluated["patient_id"])
            known[key] = (evaluated, rows)
        return known[key]

    def stage_follow_up(self, awaiting_stage: str) -> StageFollowUp:
        """The decision points awaiting ``awaiting_stage``, encoded for cohort counts
        (data.analytics.time_to_next_stage.StageFollowUp), once per stage. Each is matched to
        its patient's position in the cohort frame once: matching patient ids against a
        cohort's on every filter change took 2-3 s at 1M patients."""
        stages = self.__dict__.setdefault("_stage_follow_up", {})  # not a field: replace() starts afresh
        if awaiting_stage not in stages:
            if "_follow_up_rows" not in self.__dict__:
                index = pd.Index(self.cohort_frame["patient_id"])
                self.__dict__["_follow_up_rows"] = index.get_indexer(self.follow_up["patient_id"])
            stages[awaiting_stage] = StageFollowUp(self.follow_up, awaiting_stage, self.__dict__["_follow_up_rows"],
                                                   len(self.cohort_frame))
        return stages[awaiting_stage]

    @property
    def model_available(self) -> bool:
        return self.models is not None

    @property
    def risk_scores(self) -> pd.DataFrame | None:
        return None if self.models is None else self.models.scores


class RowPositions:
    """Row positions of a table by key (a patient id), built with array operations: at 1M
    patients a Python dict of per-patient arrays took 6 s of every start. ``get`` gives the
    positions in table order (an int for ``unique`` keys), or None for an unknown key."""

    def __init__(self, keys, unique: bool = False):
        keys = pd.Index(np.asarray(keys, dtype=object))
        self._unique = unique
        if unique:
            self._index, self._order, self._starts = keys, None, None
            return
        codes, self._index = pd.factorize(keys)
        self._order = np.argsort(codes, kind="stable")  # each key's rows together, in table order
        self._starts = np.searchsorted(codes[self._order], np.arange(len(self._index) + 1))

    def __contains__(self, key) -> bool:
        return key in self._index

    def __len__(self) -> int:
        return len(self._index)

    def get(self, key, default=None):
        if key not in self._index:
            return default
        code = self._index.get_loc(key)
        if self._unique:
            return code
        return self._order[self._starts[code]:self._starts[code + 1]]


@dataclass(frozen=True)
class PatientLookup:
    """One patient's rows without scanning the big tables in a callback."""

    patient_rows: RowPositions  # patient_id -> row position in dataset.patients (and the cohort frame)
    event_rows: RowPositions  # patient_id -> row positions in dataset.events
    scoring_features: pd.DataFrame  # model feature rows of the scored patients, indexed by patient_id

    @classmethod
    def build(cls, dataset, models) -> "PatientLookup":
        features = (AnalyticWorkspace.of(dataset).scoring_rows.set_index("patient_id")
                    if models is not None else pd.DataFrame())
        return cls(
            patient_rows=RowPositions(dataset.patients["patient_id"].astype(str), unique=True),
            event_rows=RowPositions(dataset.events["patient_id"]),
            scoring_features=features,
        )


def build_cohort_frame(dataset) -> pd.DataFrame:
    """The dataset's journeys with the patient attributes the filter needs (the workspace's
    table, kept in the cache folder); a copy, so a caller may add columns."""
    return AnalyticWorkspace.of(dataset).cohort_frame.copy()


def with_risk(frame: pd.DataFrame, scores: pd.DataFrame | None) -> pd.DataFrame:
    """Add the shown risk and its tier (NaN/None for patients not awaiting a booked stage)."""
    frame = frame.drop(columns=["risk", "risk_tier"], errors="ignore")
    if scores is None:
        return frame.assign(risk=float("nan"), risk_tier=None)
    return frame.merge(scores[["patient_id", "risk", "risk_tier"]], on="patient_id", how="left",
                       validate="one_to_one")


def analytics_engine_file(settings: Settings, workspace: AnalyticWorkspace, models, frame: pd.DataFrame,
                          log: Log) -> Path | None:
    """The DuckDB file of the served cohort frame, written now if it is not in the cache folder
    (so workers forked after start-up only open it); None when the engine is not the in-process
    DuckDB, there is no cache folder, or the file cannot be written (each worker then holds the
    tables in memory, as without a cache, and the log says why)."""
    from data.warehouse.engine import DUCKDB
    from data.warehouse.engine_file import EngineFileError, build_engine_file

    if (settings.analytics_engine or DUCKDB) != DUCKDB:
        return None
    key = f"{'none' if models is None else models.key}-{source_fingerprint(ENGINE_FILE_MODULES)[:12]}"
    path = workspace.file_path("engine", key, ".duckdb")
    if path is None:
        return None
    try:
        return build_engine_file(path, frame, workspace.dataset.pathway, log=log)
    except (OSError, EngineFileError) as error:
        log(f"analytics engine file not written ({error}); each worker keeps the tables in memory")
        return None


def scenario_engine(dataset, models, log: Log, readiness=None) -> tuple[object, str | None]:
    """(engine, None), or (None, the reason) when this data cannot support projections."""
    if models is None:
        return None, None
    from ml.scenarios.engine import ScenarioEngine  # late import: keeps the module light for its tests

    try:
        return ScenarioEngine.cached(dataset, models), None
    except ValueError as error:
        log(f"scenarios unavailable: {error}")
        reason = str(error)
        booking = None if readiness is None else readiness.finding("booking_coverage")
        if booking is not None and booking.status != OK:
            # The engine's own message ("too recent or too small") would point the user the wrong way.
            reason = f"the projections model attendance at booked appointments, and {booking.message.rstrip('.')}"
        return None, reason


def connect_outreach(settings: Settings, log: Log) -> tuple[object, str | None]:
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


def open_outreach(settings: Settings, models, log: Log,
                  at_start_up: bool = True, opened: tuple | None = None) -> tuple[object, str | None]:
    """(the outreach log, None), or (None, why not) when its database cannot be reached.
    Auto-closes the items of patients no longer waiting in this data.  ``opened``: the
    result of ``connect_outreach`` when the caller connected already (start-up does, once)."""
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


def start(settings: Settings | None = None, dataset=None, log: Log = print, training_config=None) -> AppData:
    """Load (or generate, on first run) the dataset, derive its tables once (ml.workspace, kept
    in the cache folder) and load (or train once) the models; everything the app serves."""
    settings = settings or get_settings()
    if dataset is None:
        from data.store import ensure_dataset  # late import: generating pulls in the simulator

        dataset = ensure_dataset(settings, log=log)
    from database.outreach import with_team_calls
    from ml.registry import load_or_train  # late import: keeps Dash-free unit tests light

    # One connection (and migration) at start-up, shared by the team's calls joining the
    # training data and the Worklist.
    connected = connect_outreach(settings, log)
    if connected[0] is not None:
        dataset = with_team_calls(dataset, settings, log, opened=connected[0])
    # Made before training asks for it, so training, scoring and everything below share
    # these tables and find them in the cache folder on a later start.
    workspace = AnalyticWorkspace.of(dataset, cache_dir=settings.cache_dir, log=log)
    readiness = assess(dataset, points=workspace.decision_points)
    for finding in readiness.blocking + readiness.warnings:
        log(f"readiness {finding}")
    # Any valid dataset starts: without a model the model pages say why (models_unavailable).
    models, models_unavailable = load_or_train(dataset, settings, training_config, log=log)
    workspace.release("training_rows", "pilot_rows")  # training's alone: on disk, not in every worker
    # with_risk builds a new frame: the workspace's table is read, never changed.
    frame = with_risk(workspace.cohort_frame, None if models is None else models.scores)
    follow_up = workspace.follow_up
    workspace.release("cohort_frame")  # served as `frame` (with the risk); on disk for the next start
    frame[VARIANT_CODE_COLUMN] = variant_codes(frame, dataset.pathway)  # the variant filter compares these
    enrolled = pd.to_datetime(frame["enrollment_date"])
    engine_file = analytics_engine_file(settings, workspace, models, frame, log)
    scenarios, scenarios_unavailable = scenario_engine(dataset, models, log, readiness)
    outreach, outreach_unavailable = open_outreach(settings, models, log, opened=connected)
    return AppData(
        dataset=dataset,
        cohort_frame=frame,
        fingerprint=workspace.fingerprint,
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
        follow_up=follow_up,
        workspace=workspace,
        engine_file=engine_file,
    )
