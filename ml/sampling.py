"""Training samples of whole patients, drawn at random up to a row cap.

A registry of a million members gives over a million labelled landmark rows (1,136,662 of
271,489 decision points at 1M patients), more than the models need. On 226,862 rows of
held-out patients (bench/bench_training_sample.py, bench/RESULTS.md "Training sample"), the
gradient boosting trained on 300,000 rows ranked as well as on all 909,800 (ROC-AUC 0.8103 vs
0.8108, decision day 0.7511 vs 0.7515; the true probability's 0.8153 / 0.7567), its mean
|risk - true probability| 0.036 vs 0.033; the logistic regression 0.7917 vs 0.7920. Fitting,
cross-validating and reporting cost grows with every row (a 1M first start spent 250 s of
CPU on it). Above the
cap, the models are trained and evaluated on a seeded random sample of patients, each kept
with all of their rows: grouped cross-validation still holds out patients whole, every
figure in the report is still out-of-fold, and the report says what was sampled.

Below the cap (every default or test dataset, and any registry up to a few hundred thousand
patients) nothing is sampled and the rows pass through untouched. Above it the workspace builds
only the sampled patients' rows (ml.features.training_sample / training_rows(max_rows=)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PatientSample:
    """Which rows of a table a sample keeps (``keep``, one bool per row) and what it left out."""
    keep: np.ndarray
    rows: int
    of_rows: int
    patients: int
    of_patients: int
    max_rows: int | None

    @property
    def sampled(self) -> bool:
        return self.rows < self.of_rows

    def left_out_patients(self, patient_ids) -> np.ndarray:
        """The distinct patients of ``patient_ids`` (this sample's rows' ids) the sample dropped."""
        return pd.unique(np.asarray(patient_ids, dtype=object)[~self.keep])

    def sentence(self, unit: str = "rows") -> str:
        """One line for the model card and the Model page ("" when nothing was sampled)."""
        if not self.sampled:
            return ""
        return (f"Trained and evaluated on a random sample of {self.patients:,} of {self.of_patients:,} patients, "
                f"each with all of their {unit} ({self.rows:,} of {self.of_rows:,}; cap {self.max_rows:,}), "
                "drawn with the training seed.")

    @classmethod
    def from_report(cls, section: dict | None) -> "PatientSample | None":
        if not section:
            return None
        return cls(np.zeros(0, bool), section["rows"], section["of_rows"], section["patients"],
                   section["of_patients"], section["max_rows"])

    def as_report(self) -> dict:
        return {"sampled": self.sampled, "rows": self.rows, "of_rows": self.of_rows, "patients": self.patients,
                "of_patients": self.of_patients, "max_rows": self.max_rows}


def sample_patients(patient_ids, max_rows: int | None, seed: int) -> PatientSample:
    """Patients in a seeded random order, taken whole while their rows fit under ``max_rows``
    (None: every row). The same ids, cap and seed always give the same sample."""
    ids = np.asarray(patient_ids, dtype=object)
    codes, uniques = pd.factorize(ids)
    n_patients = len(uniques)
    if max_rows is None or len(ids) <= max_rows:
        return PatientSample(np.ones(len(ids), bool), len(ids), len(ids), n_patients, n_patients, max_rows)
    counts = np.bincount(codes, minlength=n_patients)
    order = np.random.default_rng(seed).permutation(n_patients)
    taken = order[np.cumsum(counts[order]) <= max_rows]
    chosen = np.zeros(n_patients, bool)
    chosen[taken] = True
    keep = chosen[codes]
    return PatientSample(keep, int(keep.sum()), len(ids), int(chosen.sum()), n_patients, max_rows)
