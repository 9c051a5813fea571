"""Saved models: one folder per key (data fingerprint + training config + library versions).

Artifacts are written into a temporary folder and renamed into place, and training
happens under a file lock, so gunicorn workers starting together train once and
never read a half-written model.  An artifact made with other library versions has
another key and is simply retrained; a sidecar whose versions disagree is ignored.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Callable

import joblib
import numpy as np
import pandas as pd
import scipy
import sklearn
from filelock import FileLock

from data.io import Dataset, file_sha256
from data.settings import Settings, get_settings
from data.store import remove_stale_temp_folders
from ml.code_fingerprint import pathway_fingerprint, source_fingerprint
from ml.features import usable_features
from ml.risk.models import TrainingConfig
from ml.risk.model_card import model_card
from ml.risk.report import report_markdown
from ml.targeting.benefit import BenefitConfig
from ml.risk.training import ModelBundle, ModelUnavailable, train_models

REGISTRY_FORMAT = 1
BUNDLE_FILE = "bundle.joblib"
SIDECAR_FILE = "meta.json"
CHECKSUM_FIELD = "bundle_sha256"  # in the sidecar: the bundle's sha256, checked before loading
QUARANTINE_DIR = "quarantine"  # under model_dir: artifacts that failed to load, kept for a post-mortem
# save()'s temporary folders: "." + the hex key + "." + mkdtemp's 8 random characters.
TEMP_FOLDER_PATTERN = r"\.[0-9a-f]{8,64}\.[a-z0-9_]{8}"
MODEL_CARD_FILE = "model_card.md"

_loaded: dict[str, ModelBundle] = {}


def library_versions() -> dict:
    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "lightgbm": version("lightgbm"),
            "numpy": np.__version__,
            "pandas": pd.__version__, "scipy": scipy.__version__, "joblib": joblib.__version__,
            "registry_format": REGISTRY_FORMAT}


def data_fingerprint(dataset: Dataset) -> str:
    files = dataset.manifest.get("files", {})
    if all(name in files for name in ("patients", "events")):
        basis = {name: files[name]["sha256"] for name in ("patients", "events")}
    else:  # no checksums recorded: hash the frames themselves
        basis = {name: hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()
                 for name, frame in (("patients", dataset.patients), ("events", dataset.events))}
    outreach = getattr(dataset, "outreach", None)
    if outreach is not None:  # the benefit model learns from the log: a new call means a new model
        basis["outreach"] = (files["outreach"]["sha256"] if "outreach" in files else hashlib.sha256(
            pd.util.hash_pandas_object(outreach, index=False).to_numpy().tobytes()).hexdigest())
    basis["as_of"] = str(dataset.as_of.date())
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def code_basis(dataset: Dataset) -> dict:
    """The code and pathway definition that shape the models and their report: a changed feature,
    label or evaluation rule, or another pathway, gives another key (never a stale model)."""
    return {"code": source_fingerprint(), "pathway": pathway_fingerprint(dataset.pathway)}


def model_key(dataset: Dataset, config: TrainingConfig) -> str:
    # The feature set is in the key on its own: a change in which attributes the data
    # supports (or in the rule deciding it) must never load models built for another set.
    basis = {"data": data_fingerprint(dataset), "config": config.to_dict(), "versions": library_versions(),
             "features": list(usable_features(dataset.patients).used), **code_basis(dataset)}
    if getattr(dataset, "outreach", None) is not None:  # keys of data without a log stay as they were
        basis["benefit_config"] = BenefitConfig().to_dict()
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()[:20]


def quarantine(folder: Path, reason: str, log: Callable[[str], None] = print) -> Path | None:
    """Move an artifact folder that cannot be used to ``model_dir/quarantine`` (never deleted:
    someone may want to know what went wrong), with one log line. None when another worker
    moved it first."""
    target_root = folder.parent / QUARANTINE_DIR
    target_root.mkdir(exist_ok=True)
    target = target_root / f"{folder.name}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    try:
        os.replace(folder, target)
    except FileNotFoundError:
        return None
    log(f"model artifact {folder.name} {reason}: moved to {target} and retraining")
    return target


def _load_checked(folder: Path, meta: dict, log: Callable[[str], None]) -> ModelBundle | None:
    """The bundle in ``folder``, or None after quarantining it when it fails its checksum or
    cannot be unpickled (a truncated or corrupt file must not stop every start)."""
    bundle_path = folder / BUNDLE_FILE
    expected = meta.get(CHECKSUM_FIELD)
    try:
        if expected is not None and file_sha256(bundle_path) != expected:
            quarantine(folder, "fails its sha256 checksum", log)
            return None
        return joblib.load(bundle_path)
    except FileNotFoundError:
        quarantine(folder, f"has no {BUNDLE_FILE}", log)
        return None
    except Exception as error:  # noqa: BLE001 - unpickling a damaged file can raise almost anything
        quarantine(folder, f"cannot be loaded ({type(error).__name__})", log)
        return None


def load(model_dir: Path, key: str, log: Callable[[str], None] = print) -> ModelBundle | None:
    folder = Path(model_dir) / key
    try:
        meta = json.loads((folder / SIDECAR_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if meta.get("versions") != library_versions() or meta.get("key") != key:
        return None
    return _load_checked(folder, meta, log)


def save(bundle: ModelBundle, model_dir: Path, dataset: Dataset) -> Path:
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    final = model_dir / bundle.key
    tmp = Path(tempfile.mkdtemp(prefix=f".{bundle.key}.", dir=model_dir))
    try:
        joblib.dump(bundle, tmp / BUNDLE_FILE)
        bundle_sha256 = file_sha256(tmp / BUNDLE_FILE)
        (tmp / "report.json").write_text(json.dumps(bundle.report, indent=2, default=str))
        (tmp / "report.md").write_text(report_markdown(bundle.report))
        (tmp / MODEL_CARD_FILE).write_text(model_card(bundle.report))
        meta = {"key": bundle.key, "versions": library_versions(), "data_fingerprint": data_fingerprint(dataset),
                "config": bundle.config.to_dict(), "features": bundle.report.get("features"),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "trained_by_pid": os.getpid(), CHECKSUM_FIELD: bundle_sha256,
                "metrics": {name: {k: m[k] for k in ("roc_auc", "ece", "brier")}
                            for name, m in bundle.report["models"].items()}}
        # The sidecar is written last: its presence means the folder is complete.
        (tmp / SIDECAR_FILE).write_text(json.dumps(meta, indent=2))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def load_or_train(dataset: Dataset, settings: Settings | None = None, config: TrainingConfig | None = None,
                  log: Callable[[str], None] = print) -> tuple[ModelBundle | None, str | None]:
    """(models, None) for this dataset and config, trained once if needed; or (None, the reason)
    when the data cannot support a model (data.readiness names the rule and its threshold).

    "No model" is not cached: finding it out costs one derivation of the training rows.
    """
    settings = settings or get_settings()
    config = config or TrainingConfig()
    key = model_key(dataset, config)
    if key in _loaded:
        return _loaded[key], None
    remove_stale_temp_folders(settings.model_dir, TEMP_FOLDER_PATTERN, log)
    bundle = load(settings.model_dir, key, log)
    if bundle is None:
        settings.model_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(settings.model_dir / f"{key}.lock")):
            bundle = load(settings.model_dir, key, log)  # another worker may have trained meanwhile
            if bundle is None:
                log(f"training models (key {key}) ...")
                try:
                    bundle = train_in_threads(dataset, config, key=key, log=log)
                except ModelUnavailable as reason:
                    log(f"no model trained: {reason}")
                    return None, str(reason)
                path = save(bundle, settings.model_dir, dataset)
                log(f"saved models to {path}")
    else:
        log(f"loaded models {key} from {settings.model_dir}")
    _loaded[key] = bundle
    return bundle, None


def train_in_threads(dataset: Dataset, config: TrainingConfig, key: str, log: Callable[[str], None]) -> ModelBundle:
    """Train with joblib's threading backend: loky's worker processes (~300 MB each) would
    outlive the training by minutes, and in a gunicorn master started with --preload their
    executor makes every forked worker print "AssertionError: can only join a child process"
    at shutdown. The folds fit in native code (OpenMP) that releases the GIL; while folds fit in
    parallel each gets its share of the cores (ml.risk.training.cores_shared_by), and every other
    fit (the final models, the drop-in and benefit models) all of them."""
    with joblib.parallel_config(backend="threading"):
        return train_models(dataset, config, key=key, log=log)


def get_models(dataset: Dataset, settings: Settings | None = None, config: TrainingConfig | None = None,
               log: Callable[[str], None] = print) -> ModelBundle | None:
    """Load the models for this dataset and config, training them once if needed; None when the
    data cannot support a model (``load_or_train`` also says why)."""
    return load_or_train(dataset, settings, config, log)[0]


def artifact_dir(settings: Settings, bundle: ModelBundle) -> Path:
    return settings.model_dir / bundle.key
