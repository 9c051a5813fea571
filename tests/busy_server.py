"""A served CarePath whose Worklist holds more than 1,000 patients, for the large-export tests.

The session's small dataset has a few dozen patients in progress; here 18,000 patients enrol
over 8 months (the pilot's outreach inside that window), so over a thousand await a booked
stage at the as-of date while enough pathways have closed to train on. Served by gunicorn with
two workers (--preload, as serve.sh does), so a job started by one worker is polled from both.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from tests.served_gunicorn import gunicorn_workers

BUSY_PATIENTS, BUSY_SEED, BUSY_MONTHS = 18_000, 5, 8
COORDINATOR, PASSWORD = "busy-coordinator", "busy-coordinator-password"


def write_busy_dataset(folder: Path) -> list[str]:
    """Write the dataset into ``folder``; return its sites."""
    from data.io import write_dataset
    from data.synthetic.dataset import generate_tables
    from data.synthetic.params import GeneratorParams

    params = GeneratorParams(enrollment_months=BUSY_MONTHS, pilot_start_months_before=BUSY_MONTHS * 0.9,
                             pilot_end_months_before=BUSY_MONTHS * 0.2)
    tables, manifest = generate_tables(BUSY_PATIENTS, BUSY_SEED, params=params)
    write_dataset(tables, manifest, folder)
    return sorted(str(site) for site in tables["patients"]["site"].dropna().unique())


@contextmanager
def served_busy_app(root: Path):
    """(base URL, coordinator's API token): a coordinator of every site, by name, not 'admin'."""
    from app.access.store import open_store

    data_dir, var_dir = root / "data", root / "var"
    sites = write_busy_dataset(data_dir)
    database_url = f"sqlite:///{var_dir / 'carepath.db'}"
    var_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(url=database_url)
    store.users.add(COORDINATOR, "coordinator", PASSWORD, sites)
    token = store.users.issue_token(COORDINATOR)
    store.engine.dispose()
    env = {**os.environ, "CAREPATH_VAR_DIR": str(var_dir), "CAREPATH_DATA_DIR": str(data_dir),
           "CAREPATH_DATABASE_URL": database_url}
    env.pop("CAREPATH_MODEL_DIR", None)
    env.pop("CAREPATH_CACHE_DIR", None)
    with gunicorn_workers(env, root / "gunicorn.log", start_timeout=600, request_timeout=300) as base:
        yield base, token
