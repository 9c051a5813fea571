"""The generator's true dropout probability for model rows: a yardstick, never a feature."""
from __future__ import annotations

import numpy as np
import pandas as pd

from data.io import Dataset


# The patient attributes the generator's dropout probability is a function of.
GENERATOR_ATTRIBUTES = ("age", "race_ethnicity", "region", "site", "payer", "language", "adi", "distance_km",
                        "prior_no_shows_12m", "portal_user", "comorbidity_index", "est_out_of_pocket")


def has_ground_truth(dataset: Dataset) -> bool:
    """Synthetic data with every attribute the generator used: with one removed or blanked,
    the true probability cannot be recomputed, and no stand-in value is made up for it."""
    if dataset.manifest.get("generator") != "carepath.synthetic" or "params" not in dataset.manifest:
        return False
    patients = dataset.patients
    return all(c in patients.columns and patients[c].notna().all() for c in GENERATOR_ATTRIBUTES)


def oracle_risk(rows: pd.DataFrame, dataset: Dataset) -> np.ndarray | None:
    """True P(dropout | what is observable at each row's landmark); None for non-synthetic data."""
    if not has_ground_truth(dataset):
        return None
    # The synthetic world is a leaf: loaded only for a dataset that carries its ground truth.
    from data.synthetic.ground_truth import attrs_from_patients, dropout_probability
    from data.synthetic.params import GeneratorParams

    params = GeneratorParams(**dataset.manifest["params"])
    patients = dataset.patients.set_index("patient_id").loc[rows["patient_id"]].reset_index()
    return dropout_probability(
        params, attrs_from_patients(patients), rows["awaiting_stage"].to_numpy(),
        rows["lead_days"].to_numpy(float), rows["missed_previous_appointment"].to_numpy(float),
        rows["previous_stage_days"].to_numpy(float), rows["waited_days"].to_numpy(float))
