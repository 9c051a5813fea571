"""Valid datasets that a model or a page cannot take as they are, built in memory from the
small synthetic dataset: each one passed validation and then crashed training or start-up."""
from __future__ import annotations

import dataclasses

import pandas as pd

from data.io import AS_OF_FROM_EVENTS, Dataset
from data.journeys import STATUS_IN_PROGRESS, derive_journeys


def modified(dataset: Dataset, synthetic: bool = False, **changes) -> Dataset:
    """A copy with ``changes``; its manifest loses the file checksums (so the model key is
    computed from the frames, not from the original files) and, unless ``synthetic``, the
    generator's parameters (so it reads as a user's data, without an oracle)."""
    manifest = {k: v for k, v in dataset.manifest.items() if k != "files"}
    if not synthetic:
        manifest = {k: v for k, v in manifest.items() if k not in ("generator", "params")}
    return dataclasses.replace(dataset, manifest=manifest, **changes)


def first_patients(dataset: Dataset, n: int) -> Dataset:
    """The first ``n`` patients and their events."""
    keep = set(dataset.patients["patient_id"].iloc[:n])
    return modified(dataset, patients=dataset.patients[dataset.patients["patient_id"].isin(keep)].reset_index(drop=True),
                    events=dataset.events[dataset.events["patient_id"].isin(keep)].reset_index(drop=True))


def without_bookings(dataset: Dataset) -> Dataset:
    """next_appointment_date empty everywhere (as when the column is absent)."""
    return modified(dataset, events=dataset.events.assign(next_appointment_date=pd.NaT,
                                                          next_appointment_booked_on=pd.NaT))


def nobody_in_progress(dataset: Dataset) -> Dataset:
    """Every patient in progress at the as-of date removed, with their events."""
    journeys = derive_journeys(dataset.patients, dataset.events, dataset.as_of)
    waiting = set(journeys.loc[journeys["status"] == STATUS_IN_PROGRESS, "patient_id"])
    return modified(dataset, patients=dataset.patients[~dataset.patients["patient_id"].isin(waiting)]
                    .reset_index(drop=True),
                    events=dataset.events[~dataset.events["patient_id"].isin(waiting)].reset_index(drop=True))


def short_history(dataset: Dataset, days: int = 300) -> Dataset:
    """Only the first ``days`` of the data, with the as-of date at their end: shorter than the
    outcome horizons, so no decision point has a final outcome."""
    as_of = pd.Timestamp(dataset.patients["enrollment_date"].min()) + pd.Timedelta(days=days)
    patients = dataset.patients[dataset.patients["enrollment_date"] <= as_of]
    events = dataset.events[(dataset.events["date"] <= as_of)
                            & dataset.events["patient_id"].isin(set(patients["patient_id"]))]
    return modified(dataset, patients=patients.reset_index(drop=True), events=events.reset_index(drop=True),
                    as_of=as_of)


def stray_future_event(dataset: Dataset, year: int = 2099) -> Dataset:
    """One follow-up dated in ``year``, and the as-of date inferred from it, as read_dataset
    does for a folder without an as-of date."""
    events = dataset.events.copy()
    last_follow_up = events.index[events["stage"] == "follow_up"][-1]
    events.loc[last_follow_up, "date"] = pd.Timestamp(f"{year}-01-01")
    return modified(dataset, events=events, as_of=pd.Timestamp(f"{year}-01-01"), as_of_source=AS_OF_FROM_EVENTS)
