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

import time
from pathlib import Path
from typing import Callable

from filelock import FileLock

from data.io import FORMATS, MANIFEST, REQUIRED_TABLES, Dataset, read_dataset, write_dataset
from data.settings import Settings, get_settings


class DataFolderError(RuntimeError):
    """The configured data folder cannot be served; the message says why, for a person."""


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
