"""The per-patient frame the measures read: journeys joined with the patient attributes
(the same columns as the app's cohort frame), for command-line use without the app."""
from __future__ import annotations

import pandas as pd

from data.journeys import derive_journeys

ATTRIBUTES = ("age", "sex", "race_ethnicity", "payer", "region", "site")


def patient_frame(dataset, journeys: pd.DataFrame | None = None) -> pd.DataFrame:
    """``journeys`` (derived once by the caller, e.g. ml.workspace) with the patient attributes;
    derived here when not given."""
    if journeys is None:
        journeys = derive_journeys(dataset.patients, dataset.events, dataset.as_of, dataset.pathway)
    attributes = dataset.patients.reindex(columns=["patient_id", *ATTRIBUTES])
    return journeys.merge(attributes, on="patient_id", how="left", validate="one_to_one")
