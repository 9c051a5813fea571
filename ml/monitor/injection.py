"""A drift-injected copy of a dataset, to prove the monitor raises its alert: the in-progress
patients' payer mix shifts towards Medicaid, and a new site with longer waits takes a third of them.

Used by the tests and the bench; it returns new tables and never writes to a data folder.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ml.workspace import AnalyticWorkspace

NEW_SITE = "Newport (new)"
EXTRA_WAIT_DAYS = 35


def inject_drift(dataset, payer_share: float = 0.6, new_site_share: float = 0.35, seed: int = 0):
    """A copy of ``dataset`` whose in-progress patients drifted (see the module docstring)."""
    rng = np.random.default_rng(seed)
    waiting = AnalyticWorkspace.of(dataset).scoring_rows
    ids = waiting["patient_id"].astype(str).unique()
    to_medicaid = ids[rng.random(len(ids)) < payer_share]
    to_new_site = ids[rng.random(len(ids)) < new_site_share]
    patients = dataset.patients.copy()
    patients.loc[patients["patient_id"].astype(str).isin(to_medicaid), "payer"] = "Medicaid"
    moved = patients["patient_id"].astype(str).isin(to_new_site)
    if isinstance(patients["site"].dtype, pd.CategoricalDtype):
        patients["site"] = patients["site"].astype(object)
    patients.loc[moved, "site"] = NEW_SITE
    events = dataset.events.copy()
    # The open booking of a moved patient is later: their decision event books further ahead.
    decisions = waiting[waiting["patient_id"].astype(str).isin(to_new_site)]
    key = pd.MultiIndex.from_arrays([decisions["patient_id"].astype(str), decisions["decision_date"]])
    event_key = pd.MultiIndex.from_arrays([events["patient_id"].astype(str), pd.to_datetime(events["date"])])
    later = event_key.isin(key) & events["next_appointment_date"].notna()
    events.loc[later, "next_appointment_date"] = (pd.to_datetime(events.loc[later, "next_appointment_date"])
                                                  + pd.Timedelta(days=EXTRA_WAIT_DAYS))
    return replace(dataset, patients=patients, events=events)
