"""The scenario population: every patient with a positive screen, derived once per dataset.

A Scenarios slider move projects the levers onto a cohort's positive screens. Looking the
cohort's patient ids up in pandas on every move (journeys, scores, chain rows) cost half a
second at 1M patients; here each screened patient's outcome, baseline and positions (in the
dataset and the pathway chain) are derived once, so a cohort's population is a boolean mask
over arrays (``ScreenedPatients``, the mask from ``PatientPositions``), and what a cohort
needs before any lever acts is kept between moves (``ChainGroup``, ``CohortState``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

# Observed steps after a positive screen, in ml.scenarios.arithmetic.FUNNEL_STEPS order.
OBSERVED_STEPS = ("diagnosed", "confirmed", "treated", "followed_up")
POPULATION_COLUMNS = ("patient_id", "status", "in_progress", "risk_now", "non_dropout")


@dataclass(frozen=True)
class ScreenedPatients:
    """Patients with a positive screen by the as-of date, in the order of their first
    diagnosis decision row; every array has one entry per patient.

    ``frame`` is the public population (POPULATION_COLUMNS, indexed like the decision rows);
    ``patient`` the position in dataset.patients; ``chain_at`` the row of the patient's latest
    decision point in the pathway chain; ``observed`` (4, patients) the observed steps
    (OBSERVED_STEPS) as 0/1."""
    frame: pd.DataFrame
    patient: np.ndarray
    chain_at: np.ndarray
    dropped_out: np.ndarray
    in_progress: np.ndarray
    non_dropout: np.ndarray
    observed: np.ndarray

    @classmethod
    def derive(cls, rows: pd.DataFrame, journeys: pd.DataFrame, scores: pd.DataFrame, patient_position,
               chain_position: np.ndarray) -> "ScreenedPatients":
        """``rows``: decision-day rows; ``journeys`` indexed by patient id; ``patient_position(ids)``
        the dataset positions of ids; ``chain_position`` per dataset patient, the chain row of
        their latest decision point."""
        first = rows.loc[(rows["awaiting_stage"] == "diagnosis").to_numpy(), ["patient_id"]].drop_duplicates()
        journey = journeys.loc[first["patient_id"]]
        status = journey["status"].to_numpy()
        risk_now = first["patient_id"].map(scores.set_index("patient_id")["risk"]).to_numpy()
        in_progress = status == "in_progress"
        # Patients in progress but not at a booked stage cannot exist here (they had a positive screen).
        non_dropout = np.where(in_progress, 1 - np.nan_to_num(risk_now, nan=0.0),
                               (status != "dropped_out").astype(float))
        frame = first.assign(status=status, in_progress=in_progress, risk_now=risk_now, non_dropout=non_dropout)
        observed = np.stack([journey["diagnosis_date"].notna(),
                             journey["diagnosis_result"].astype(str) == "confirmed",
                             journey["treatment_date"].notna(), journey["follow_up_date"].notna()]).astype(float)
        patient = patient_position(first["patient_id"])
        return cls(frame, patient, chain_position[patient], status == "dropped_out", in_progress, non_dropout,
                   observed)

    def __len__(self) -> int:
        return len(self.patient)

    def of(self, member: np.ndarray) -> np.ndarray:
        """Indices (into these arrays, in population order) of the patients in ``member``, a
        boolean mask over dataset.patients."""
        return np.flatnonzero(member[self.patient])


def _arrow(values) -> pa.Array:
    array = pa.array(values)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


class PatientPositions:
    """Positions of patient ids in dataset.patients.

    A cohort comes as a Series of ids cut from a per-patient frame in the dataset's patient
    order (the app's cohort frame, a filter of dataset.patients), so its index already holds
    the positions: they are taken from there when every id matches the dataset's id at its
    position (one Arrow comparison, milliseconds at 1M patients), and looked up by hashing
    the strings otherwise (about 0.4 s for 330k ids among 1M)."""

    def __init__(self, patient_ids: pd.Series):
        self.index = pd.Index(patient_ids.to_numpy(dtype=object))
        self._ids = _arrow(patient_ids)

    def __len__(self) -> int:
        return len(self.index)

    def of(self, ids) -> np.ndarray:
        """Each id's position, -1 for an id not in the dataset."""
        return self.index.get_indexer(pd.Index(np.asarray(ids, dtype=object)))

    def from_index(self, ids) -> np.ndarray | None:
        """The positions ``ids.index`` claims, when every id is the dataset's id at that position; else None."""
        if not isinstance(ids, pd.Series) or not pd.api.types.is_integer_dtype(ids.index.dtype):
            return None
        claimed = ids.index.to_numpy()
        if len(claimed) and (claimed.min() < 0 or claimed.max() >= len(self)):
            return None
        try:
            given = _arrow(ids)
            expected = self._ids.take(pa.array(claimed))
            if given.type != expected.type:
                given = given.cast(expected.type)
            return claimed if expected.equals(given) else None
        except (pa.ArrowException, TypeError, ValueError):  # ids that are not strings like the dataset's
            return None

    def member(self, ids) -> np.ndarray:
        """Boolean mask over dataset.patients: True for the patients in ``ids`` (everyone when None)."""
        if ids is None:
            return np.ones(len(self), bool)
        mask = np.zeros(len(self), bool)
        positions = self.from_index(ids)
        if positions is None:
            positions = self.of(ids)
            positions = positions[positions >= 0]
        mask[positions] = True
        return mask


@dataclass(frozen=True)
class ChainGroup:
    """Patients of a population (indices into ScreenedPatients) with what no lever changes:
    who is open to change (dropped out or in progress; the levers only help), their pathway
    chain rows, and their chain odds and continuation without the levers, for the coefficient
    sets ``sets`` (``pathway_chain.StageOdds``, (sets, open patients))."""
    patients: np.ndarray
    sets: np.ndarray
    open: np.ndarray
    at: np.ndarray
    dropped_out: np.ndarray
    before: object
    finish_before: np.ndarray


@dataclass
class CohortState:
    """What a projection needs of one cohort before any lever acts, kept between slider moves
    (the cohort's mask is the key): its population, the fitted chain's group and the model
    draws' group (set on first use), the baseline funnel counts, the arithmetic's closed
    decision points, the screening shares and the scores the outreach lever ranks."""
    member: np.ndarray
    patients: np.ndarray
    fitted: ChainGroup
    base: np.ndarray
    in_progress: int
    observed: np.ndarray
    funnel_baseline: np.ndarray
    closed: tuple
    members: int
    positive_share: float
    scores: pd.DataFrame
    draws: ChainGroup | None = None
