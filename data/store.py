"""The app's dataset: load it from the data folder, generating it on first run.

Several gunicorn workers may start together; a file lock makes sure only one of
them generates, and the atomic write means no one ever reads a half-written folder.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from filelock import FileLock

from data.generator import DEFAULT_AS_OF, generate_tables
from data.io import Dataset, read_dataset, write_dataset
from data.settings import Settings, get_settings
from data.summary import dataset_summary


def _has_dataset(folder: Path) -> bool:
    return (folder / "manifest.json").exists()


def ensure_dataset(settings: Settings | None = None, log: Callable[[str], None] = print) -> Dataset:
    """Load the dataset in ``settings.data_dir``; generate the synthetic one if absent."""
    settings = settings or get_settings()
    folder = settings.data_dir
    if not _has_dataset(folder):
        folder.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(folder) + ".lock"):
            if not _has_dataset(folder):  # another worker may have finished meanwhile
                log(f"generating synthetic data: {settings.n_patients:,} patients, seed {settings.seed} ...")
                started = time.perf_counter()
                tables, manifest = generate_tables(settings.n_patients, settings.seed, DEFAULT_AS_OF)
                manifest["summary"] = dataset_summary(tables["patients"], tables["events"], manifest["as_of"])
                write_dataset(tables, manifest, folder)
                log(f"  wrote {folder} in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    dataset = read_dataset(folder)
    log(f"loaded {len(dataset.patients):,} patients from {folder} in {time.perf_counter() - started:.1f} s")
    return dataset
