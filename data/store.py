"""The app's dataset: the user's folder, only ever read, or the synthetic default in the
app's own runtime folder, generated there on first run.

A folder named by CAREPATH_DATA_DIR belongs to the user: it is read and never written,
moved or deleted, with or without a manifest. If it holds no dataset the app refuses
to start with a message that says what it found and what it expected. Only when no
folder is configured does the app write, into ``$CAREPATH_VAR_DIR/data``; several
gunicorn workers may start together there, so a file lock lets one of them generate
and the atomic write means no one ever reads a half-written folder.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

from filelock import FileLock

from data.io import FORMATS, MANIFEST, REQUIRED_TABLES, Dataset, read_dataset, write_dataset
from data.settings import Settings, get_settings


class DataFolderError(RuntimeError):
    """The configured data folder cannot be served; the message says why, for a person."""


class RuntimeFolderError(DataFolderError):
    """A folder the app must write to (CAREPATH_VAR_DIR, the model or cache folder) cannot be
    written; the message is one sentence naming it and the setting that moves it."""


# write_dataset's temporary and stepped-aside folders, next to the dataset folder:
# ".data.tmp-1a2b3c4d" and ".data.old-1a2b3c4d" (data.io.write_dataset).
DATASET_TEMP_PATTERN = r"\.[^/]+\.(tmp|old)-[0-9a-f]{8}"
# A temporary folder younger than this may belong to a writer still at work (another worker
# starting without --preload); older ones were left by a crash.
STALE_TEMP_SECONDS = 15 * 60


def _writable(folder: Path) -> str | None:
    """None when files can be created in ``folder`` (made if absent), else the OS's reason.
    Tried by writing, not with os.access: root passes os.access on read-only mounts."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        return error.strerror or type(error).__name__
    return None


def check_runtime_folders(settings: Settings) -> None:
    """Raise RuntimeFolderError, one sentence, when a folder the app writes cannot be written."""
    folders = [("CAREPATH_VAR_DIR", settings.var_dir), ("CAREPATH_MODEL_DIR", settings.model_dir)]
    if not settings.redis_url:
        folders.append(("CAREPATH_CACHE_DIR", settings.cache_dir))
    for setting, folder in folders:
        reason = _writable(folder)
        if reason:
            raise RuntimeFolderError(
                f"CarePath cannot write to its runtime folder {folder} ({reason.lower()}): make it writable "
                f"for this user or point {setting} at a folder that is.")


def remove_stale_temp_folders(folder: Path, pattern: str, log: Callable[[str], None] = print,
                              older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove folders directly in ``folder`` whose whole name matches ``pattern`` (our own
    temporary-name patterns only) and that were last changed over ``older_than`` seconds
    ago: what a crashed atomic write left behind. One log line per folder removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    now = time.time()
    for entry in folder.iterdir():
        if not re.fullmatch(pattern, entry.name) or entry.is_symlink() or not entry.is_dir():
            continue
        try:
            if now - entry.stat().st_mtime < older_than:
                continue
            shutil.rmtree(entry)
        except FileNotFoundError:  # another worker removed it first
            continue
        except OSError as error:
            log(f"could not remove the leftover temporary folder {entry}: {error.strerror}")
            continue
        log(f"removed a temporary folder left by an interrupted write: {entry}")
        removed.append(entry)
    return removed


def prepare_runtime(settings: Settings | None = None, log: Callable[[str], None] = print) -> None:
    """Start-up checks of the runtime folder: writable (else RuntimeFolderError), and free of
    temporary folders a crashed write of the synthetic dataset left. A user's data folder
    (CAREPATH_DATA_DIR) is never touched."""
    settings = settings or get_settings()
    check_runtime_folders(settings)
    if not settings.data_dir_configured:
        remove_stale_temp_folders(settings.data_dir.parent, DATASET_TEMP_PATTERN, log)


def _has_dataset(folder: Path) -> bool:
    return (folder / MANIFEST).exists()


def _describe_contents(folder: Path) -> str:
    names = sorted(p.name for p in folder.iterdir())[:8]
    return ", ".join(names) if names else "nothing"


def _check_user_folder(folder: Path) -> None:
    if not folder.exists():
        raise DataFolderError(f"CAREPATH_DATA_DIR={folder} does not exist. Point it at a folder holding "
                              "patients and events (.parquet or .csv), e.g. one written by "
                              "'python -m data.ingest MAPPING --out DIR', or unset it to use the synthetic data.")
    if not folder.is_dir():
        raise DataFolderError(f"CAREPATH_DATA_DIR={folder} is a file, not a folder.")
    missing = [name for name in REQUIRED_TABLES
               if not any((folder / f"{name}.{fmt}").is_file() for fmt in FORMATS)]
    if missing:
        wanted = " and ".join(f"{name}.parquet or {name}.csv" for name in missing)
        raise DataFolderError(f"CAREPATH_DATA_DIR={folder} holds no CarePath dataset: it has no {wanted} "
                              f"(found: {_describe_contents(folder)}). The folder was left untouched. Convert "
                              "your files with 'python -m data.ingest MAPPING --out DIR' (docs/data.md) and "
                              "point CAREPATH_DATA_DIR at DIR.")


def _generate_default(settings: Settings, log: Callable[[str], None]) -> None:
    folder = settings.data_dir
    if _has_dataset(folder):
        return
    # The synthetic world is a leaf: loaded only when the app's own default data is made.
    from data.synthetic.dataset import DEFAULT_AS_OF, generate_tables
    from data.synthetic.summary import dataset_summary

    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if _has_dataset(folder):  # another worker finished meanwhile
            return
        log(f"generating synthetic data: {settings.n_patients:,} patients, seed {settings.seed} ...")
        started = time.perf_counter()
        tables, manifest = generate_tables(settings.n_patients, settings.seed, DEFAULT_AS_OF)
        manifest["summary"] = dataset_summary(tables["patients"], tables["events"], manifest["as_of"])
        write_dataset(tables, manifest, folder)
        log(f"  wrote {folder} in {time.perf_counter() - started:.1f} s")


def ensure_dataset(settings: Settings | None = None, log: Callable[[str], None] = print) -> Dataset:
    """Load the user's dataset (CAREPATH_DATA_DIR, read only) or the synthetic default
    (generated into the runtime folder if absent).

    Raises ``DataFolderError`` when a configured folder holds no dataset, and
    ``ContractError`` when its data break the contract.
    """
    settings = settings or get_settings()
    folder = settings.data_dir
    if settings.data_dir_configured:
        _check_user_folder(folder)
        log(f"reading your data in {folder} (read only: nothing there is written)")
    else:
        _generate_default(settings, log)
    started = time.perf_counter()
    dataset = read_dataset(folder, as_of=settings.as_of)
    log(f"loaded {len(dataset.patients):,} patients from {folder} in {time.perf_counter() - started:.1f} s; "
        f"as of {dataset.as_of:%Y-%m-%d} (from {dataset.as_of_source})")
    return dataset
