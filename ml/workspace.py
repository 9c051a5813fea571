"""The analytic workspace: every table derived from one dataset (journeys, decision points, the
risk model's training / decision-day / scoring rows, the benefit model's pilot rows), each
derived once, on first use, and handed to whoever needs it.

``AnalyticWorkspace.of(dataset)`` is the dataset's one workspace: training, scoring, the
scenario engine, the monitor and the start-up service all ask it, so no caller derives the
same table a second time. Given a cache folder, each table is also kept there as Parquet
under a key of the dataset fingerprint and the code fingerprint, written atomically, so a
cached start reads instead of deriving; a file that cannot be read is deleted and derived
again, with one log line.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import data.journeys
from ml.code_fingerprint import DERIVATION_MODULES, pathway_fingerprint, source_fingerprint
from ml.sampling import PatientSample

# The code that shapes the workspace's tables: a changed rule gives another key (never stale rows).
WORKSPACE_MODULES = DERIVATION_MODULES + ("ml.features", "ml.sampling", "ml.targeting.rows", "ml.workspace",
                                          "data.measures.cohort", "data.analytics.time_to_next_stage")
WORKSPACE_DIR = "workspace"  # under the cache folder
WORKSPACE_FORMAT = 1
KEEP_KEYS = 3  # key folders kept in the cache (the newest); older datasets' tables are removed
DTYPES_META = b"carepath.dtypes"  # Parquet metadata: each column's pandas dtype, restored on read

Log = Callable[[str], None]


def dataset_fingerprint(dataset) -> str:
    """Changes whenever the data, the as-of date, the journey rules (their code) or the pathway
    definition change, so a derived table is never served for other inputs."""
    digest = hashlib.sha256()
    for table in (dataset.patients, dataset.events):
        digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    digest.update(str(pd.Timestamp(dataset.as_of).date()).encode())
    digest.update(source_fingerprint(DERIVATION_MODULES).encode())
    digest.update(pathway_fingerprint(dataset.pathway).encode())
    return digest.hexdigest()[:16]


def _frame_digest(frame: pd.DataFrame | None) -> str:
    if frame is None:
        return "none"
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()[:16]


# --------------------------------------------------------------------------- Parquet files


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` atomically (temporary file in the same folder, then rename), with
    each column's pandas dtype in the file's metadata so that reading gives the same frame back."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    dtypes = {column: str(dtype) for column, dtype in frame.dtypes.items()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           DTYPES_META: json.dumps(dtypes).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        pq.write_table(table, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_table(path: Path) -> pd.DataFrame:
    """The frame ``write_table`` wrote: text columns that were ``object`` come back as ``object``
    with None for missing (pandas would otherwise read them as its string dtype)."""
    table = pq.read_table(path)
    dtypes = json.loads(table.schema.metadata[DTYPES_META])
    frame = table.to_pandas()
    for column, dtype in dtypes.items():
        if dtype == "object" and str(frame[column].dtype) != "object":
            values = frame[column].astype(object)
            frame[column] = values.where(values.notna(), None)
    return frame


# --------------------------------------------------------------------------- the workspace


class AnalyticWorkspace:
    """The tables derived from one dataset, each derived at most once (lazily, on first ask).

    Use ``AnalyticWorkspace.of(dataset)``: every caller then shares one workspace per dataset.
    """

    _ATTRIBUTE = "_analytic_workspace"  # where a dataset keeps its workspace (not a dataclass field)
    _lock_of_datasets = threading.Lock()

    def __init__(self, dataset, cache_dir: Path | None = None, log: Log = print):
        self.dataset = dataset
        self.cache_dir = None if cache_dir is None else Path(cache_dir) / WORKSPACE_DIR
        self.log = log
        self._tables: dict[str, pd.DataFrame] = {}
        self._lock = threading.RLock()  # guards the two dicts
        # One lock per table: a table is derived once however many threads ask, and a thread
        # deriving one table (the benefit model's pilot rows) never holds up another's read.
        self._table_locks: dict[str, threading.RLock] = {}
        self._fingerprint: str | None = None

    @classmethod
    def of(cls, dataset, cache_dir: Path | None = None, log: Log | None = None) -> "AnalyticWorkspace":
        """The workspace of ``dataset`` (created on first ask). A cache folder or log given later
        (start-up gives them; a CLI or a test may not) applies from then on.

        The workspace lives on the dataset object itself, so it goes when the dataset goes, and
        a changed copy (dataclasses.replace) gets its own."""
        with cls._lock_of_datasets:
            workspace = getattr(dataset, cls._ATTRIBUTE, None)
            # copy.copy(dataset) copies the attribute too: a copy whose tables are then changed
            # (another outreach log, bookings removed) must not be served the original's rows.
            if workspace is None or workspace.dataset is not dataset:
                workspace = cls(dataset, cache_dir, log or print)
                object.__setattr__(dataset, cls._ATTRIBUTE, workspace)
                return workspace
        if cache_dir is not None and workspace.cache_dir is None:
            workspace.cache_dir = Path(cache_dir) / WORKSPACE_DIR
        if log is not None:
            workspace.log = log
        return workspace

    # ------------------------------------------------------------------ keys
    @property
    def fingerprint(self) -> str:
        """The dataset fingerprint (data, as-of date, journey rules, pathway definition)."""
        if self._fingerprint is None:
            self._fingerprint = dataset_fingerprint(self.dataset)
        return self._fingerprint

    @property
    def key(self) -> str:
        """Folder of the persisted tables: the dataset fingerprint and the code fingerprint."""
        return f"{self.fingerprint}-{source_fingerprint(WORKSPACE_MODULES)[:12]}-v{WORKSPACE_FORMAT}"

    # ------------------------------------------------------------------ the tables
    @property
    def journeys(self) -> pd.DataFrame:
        """data.journeys.derive_journeys: one row per patient."""
        dataset = self.dataset
        return self._table("journeys", lambda: data.journeys.derive_journeys(
            dataset.patients, dataset.events, dataset.as_of, dataset.pathway))

    @property
    def decision_points(self) -> pd.DataFrame:
        """data.journeys.derive_decision_points: one row per decision point."""
        dataset = self.dataset
        return self._table("decision_points", lambda: data.journeys.derive_decision_points(
            dataset.patients, dataset.events, dataset.as_of, dataset.pathway))

    @property
    def cohort_frame(self) -> pd.DataFrame:
        """data.measures.cohort.patient_frame: the journeys with the patient attributes the cohort
        filter and the measures read (no risk: that comes from the models, not the data)."""
        from data.measures.cohort import patient_frame

        return self._table("cohort_frame", lambda: patient_frame(self.dataset, self.journeys))

    @property
    def follow_up(self) -> pd.DataFrame:
        """data.analytics.time_to_next_stage.follow_up_for_dataset: every decision point's
        follow-up (time, event, censoring) with the patient attributes groups are compared by."""
        from data.analytics.time_to_next_stage import follow_up_for_dataset

        return self._table("follow_up", lambda: follow_up_for_dataset(self.dataset, self.cohort_frame,
                                                                      points=self.decision_points))

    @property
    def training_rows(self) -> pd.DataFrame:
        """ml.features.training_rows: labelled landmark rows."""
        from ml import features

        return self._table("training_rows", lambda: features.training_rows(*self._inputs(), points=self.decision_points))

    def training_sample(self, max_rows: int | None, seed: int) -> tuple[pd.DataFrame, PatientSample]:
        """(rows, sample): the labelled landmark rows of a random sample of whole patients that fits
        under ``max_rows`` (ml.sampling; the rows of ``training_rows`` those patients have), the
        other patients' rows never built; every row when they fit (None: always every row)."""
        from ml import features

        sample = features.training_sample(self.decision_points, max_rows, seed)
        if not sample.sampled:
            return self.training_rows, sample
        rows = self._table(f"training_rows-{max_rows}-{seed}", lambda: features.training_rows(
            *self._inputs(), points=self.decision_points, max_rows=max_rows, seed=seed))
        return rows, sample

    @property
    def decision_day_rows(self) -> pd.DataFrame:
        """ml.features.decision_day_rows: every decision point on its decision day."""
        from ml import features

        return self._table("decision_day_rows",
                           lambda: features.decision_day_rows(*self._inputs(), points=self.decision_points))

    @property
    def scoring_rows(self) -> pd.DataFrame:
        """ml.features.scoring_rows: the in-progress patients awaiting a booked stage, at the as-of date."""
        from ml import features

        return self._table("scoring_rows", lambda: features.scoring_rows(*self._inputs(), points=self.decision_points))

    def pilot_rows(self, outreach: pd.DataFrame | None, step_days: int) -> pd.DataFrame:
        """ml.targeting.rows.pilot_rows of ``outreach`` (the log the benefit model learns from)."""
        from ml.targeting import rows

        name = f"pilot_rows-{_frame_digest(outreach)}-{int(step_days)}"
        patients, events, as_of, pathway = self._inputs()
        return self._table(name, lambda: rows.pilot_rows(patients, events, outreach, as_of, pathway,
                                                         step_days=step_days, points=self.decision_points))

    def artifact(self, name: str, key: str, build: Callable[[], object]) -> object:
        """An object built from this workspace's tables (e.g. the scenario engine's fitted state),
        kept in the cache folder beside them under ``key`` (what else it depends on: a model key,
        a code fingerprint), so a cached start loads it instead of building it again. Written
        atomically; a file that cannot be read is deleted and the object built again, with one
        log line. Not kept in memory: the caller holds the object."""
        path = None if self.cache_dir is None else self.cache_dir / self.key / f"{name}-{key}.pickle"
        if path is not None and path.exists():
            try:
                # pickle, not joblib: joblib unpickles in pure Python (3 s for the 1M engine's
                # patient index); protocol 5 keeps numpy arrays as raw buffers.
                with open(path, "rb") as file:
                    return pickle.load(file)
            except Exception as error:  # noqa: BLE001 - a truncated or stale pickle can raise almost anything
                path.unlink(missing_ok=True)
                self.log(f"workspace artifact {name} could not be read ({type(error).__name__}): deleted, "
                         "building it again")
        built = build()
        if path is not None:
            try:
                fresh_key = _make_folder(path)
                handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
                os.close(handle)
                try:
                    with open(temporary, "wb") as file:
                        pickle.dump(built, file, protocol=pickle.HIGHEST_PROTOCOL)
                    os.replace(temporary, path)
                finally:
                    Path(temporary).unlink(missing_ok=True)
                _prune_beside(path, fresh_key)
            except OSError as error:  # the cache is an optimisation: a full or read-only disk costs speed only
                self.log(f"workspace artifact {name} not saved ({error}); it is built again at the next start")
        return built

    def file_path(self, name: str, key: str, suffix: str) -> Path | None:
        """Where a file built from this workspace's tables (e.g. the analytics engine's DuckDB
        file) is kept beside them under ``key`` (what else it depends on); the other versions of
        ``name`` there are removed, since one is served. None without a cache folder."""
        if self.cache_dir is None:
            return None
        path = self.cache_dir / self.key / f"{name}-{key}{suffix}"
        try:
            _prune_beside(path, _make_folder(path), suffix)
        except OSError as error:
            self.log(f"workspace file {name}: its folder cannot be prepared ({error})")
            return None
        return path

    def release(self, *names: str) -> None:
        """Drop these tables (a name, or a family such as "pilot_rows") from memory; they stay on
        disk. Training's rows are not needed to serve, so no worker keeps them for its whole life."""
        with self._lock:
            for name in list(self._tables):
                if name in names or name.split("-", 1)[0] in names:
                    del self._tables[name]

    def in_memory(self) -> tuple[str, ...]:
        """The names of the tables held in memory now."""
        return tuple(self._tables)

    def _inputs(self) -> tuple:
        dataset = self.dataset
        return dataset.patients, dataset.events, dataset.as_of, dataset.pathway

    # ------------------------------------------------------------------ memory and disk
    def _table(self, name: str, derive: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """The table ``name``: from memory, else from the cache folder, else derived (and saved).
        Callers get the shared frame: they copy before changing it."""
        frame = self._tables.get(name)
        if frame is not None:
            return frame
        with self._lock:
            lock = self._table_locks.setdefault(name, threading.RLock())
        with lock:
            frame = self._tables.get(name)
            if frame is None:
                frame = self._read(name)
                if frame is None:
                    frame = derive()
                    self._write(name, frame)
                with self._lock:
                    self._tables[name] = frame
            return frame

    def _path(self, name: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / self.key / f"{name}.parquet"

    def _read(self, name: str) -> pd.DataFrame | None:
        path = self._path(name)
        if path is None or not path.exists():
            return None
        try:
            return read_table(path)
        except Exception as error:  # noqa: BLE001 - a truncated or corrupt file can raise almost anything
            path.unlink(missing_ok=True)
            self.log(f"workspace table {path.name} could not be read ({type(error).__name__}): deleted, "
                     "deriving it again")
            return None

    def _write(self, name: str, frame: pd.DataFrame) -> None:
        path = self._path(name)
        if path is None:
            return
        try:
            fresh_key = not path.parent.exists()
            write_table(frame, path)
            if fresh_key:
                _prune_old_keys(path.parent.parent, keep=path.parent.name)
        except OSError as error:  # the cache is an optimisation: a full or read-only disk costs speed only
            self.log(f"workspace table {name} not saved ({error}); it is derived again at the next start")


def _make_folder(path: Path) -> bool:
    """Create ``path``'s key folder; whether it is new (a new key: older keys' folders can go)."""
    fresh = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    return fresh


def _prune_beside(path: Path, fresh_key: bool, suffix: str = ".pickle") -> None:
    """Remove what ``path`` supersedes: older key folders (when its own is new) and the other
    versions of its artifact beside it."""
    if fresh_key:
        _prune_old_keys(path.parent.parent, keep=path.parent.name)
    _prune_old_artifacts(path, suffix)


def _prune_old_artifacts(kept: Path, suffix: str = ".pickle") -> None:
    """Remove the other versions of an artifact (other model keys) beside ``kept``: one is served.
    A process still reading a removed file keeps it open (POSIX) until it closes it."""
    family = kept.name.split("-", 1)[0]
    for other in kept.parent.glob(f"{family}-*{suffix}"):
        if other != kept:
            other.unlink(missing_ok=True)
            other.with_name(other.name + ".lock").unlink(missing_ok=True)  # a file lock beside it, if any


def _prune_old_keys(root: Path, keep: str) -> None:
    """Remove all but the KEEP_KEYS newest key folders (tables of data no longer served)."""
    folders = sorted((p for p in root.iterdir() if p.is_dir() and p.name != keep),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for folder in folders[KEEP_KEYS - 1:]:
        shutil.rmtree(folder, ignore_errors=True)
