"""Cohort aggregates behind the Overview page: KPIs, the stage funnel, monthly trends.

Pure pandas over the per-patient cohort frame (one row per patient, the columns of
``data.journeys.derive_journeys``), so each number is unit-tested on a hand-made frame.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

COMPLETED, DROPPED_OUT, IN_PROGRESS = "completed", "dropped_out", "in_progress"


@dataclass(frozen=True)
class OverviewKpis:
    patients: int
    completed: int
    dropped_out: int
    in_progress: int
    completion_rate: float | None  # completed / (completed + dropped out); None if neither
    dropout_rate: float | None
    median_days_positive_screen_to_treatment: float | None


def overview_kpis(frame: pd.DataFrame) -> OverviewKpis:
    status = frame["status"]
    completed = int((status == COMPLETED).sum())
    dropped_out = int((status == DROPPED_OUT).sum())
    # Patients still in progress (censored) or appropriately exited have no final
    # outcome on the completion question, so they are left out of both rates.
    decided = completed + dropped_out
    median_days = frame["days_positive_screen_to_treatment"].median()
    return OverviewKpis(
        patients=len(frame),
        completed=completed,
        dropped_out=dropped_out,
        in_progress=int((status == IN_PROGRESS).sum()),
        completion_rate=completed / decided if decided else None,
        dropout_rate=dropped_out / decided if decided else None,
        median_days_positive_screen_to_treatment=None if pd.isna(median_days) else float(median_days),
    )


# (step, label, what losing patients at this step means)
FUNNEL_STEPS = (
    ("enrolled", "Enrolled", ""),
    ("screened", "Screened", "not screened: dropped out or still in progress"),
    ("positive_screen", "Positive screen", "negative screen: pathway ends appropriately"),
    ("diagnosed", "Diagnosed", "no diagnostic work-up: dropped out or still in progress"),
    ("confirmed", "Diagnosis confirmed", "ruled out: pathway ends appropriately"),
    ("treated", "Treated", "not treated: dropped out or still in progress"),
    ("followed_up", "Followed up", "no follow-up: dropped out or still in progress"),
)


def _funnel_masks(frame: pd.DataFrame) -> dict[str, pd.Series]:
    # Each step also requires the one before, so the funnel can never widen even if
    # a user's data holds, say, a treatment without a recorded diagnosis.
    screened = frame["screening_date"].notna()
    positive = screened & (frame["screening_result"] == "positive")
    diagnosed = positive & frame["diagnosis_date"].notna()
    confirmed = diagnosed & (frame["diagnosis_result"] == "confirmed")
    treated = confirmed & frame["treatment_date"].notna()
    followed_up = treated & frame["follow_up_date"].notna()
    return {
        "enrolled": pd.Series(True, index=frame.index),
        "screened": screened,
        "positive_screen": positive,
        "diagnosed": diagnosed,
        "confirmed": confirmed,
        "treated": treated,
        "followed_up": followed_up,
    }


def funnel_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per funnel step: patients, conversion from the previous step (0-1, NaN for
    the first), drop-off (patients lost since the previous step), share of enrolled."""
    masks = _funnel_masks(frame)
    counts = [int(masks[step].fillna(False).sum()) for step, _, _ in FUNNEL_STEPS]
    previous = [None, *counts[:-1]]
    enrolled = counts[0]
    return pd.DataFrame({
        "step": [step for step, _, _ in FUNNEL_STEPS],
        "label": [label for _, label, _ in FUNNEL_STEPS],
        "patients": counts,
        "conversion": [math.nan if p is None else (c / p if p else math.nan) for c, p in zip(counts, previous)],
        "drop_off": [0 if p is None else p - c for c, p in zip(counts, previous)],
        "drop_off_meaning": [meaning for _, _, meaning in FUNNEL_STEPS],
        "share_of_enrolled": [c / enrolled if enrolled else math.nan for c in counts],
    })


def _last_stage_date(frame: pd.DataFrame) -> pd.Series:
    stage_dates = frame[["screening_date", "diagnosis_date", "treatment_date", "follow_up_date"]]
    return stage_dates.apply(pd.to_datetime).max(axis=1)


def monthly_trend(frame: pd.DataFrame) -> pd.DataFrame:
    """Per calendar month: patients enrolled, and patients completing the pathway
    (dated by their last stage). Months without either are filled with zeros."""
    enrolled_month = pd.to_datetime(frame["enrollment_date"]).dt.to_period("M")
    completed = frame["status"] == COMPLETED
    completed_month = _last_stage_date(frame.loc[completed]).dt.to_period("M")
    enrolled = enrolled_month.value_counts()
    finished = completed_month.value_counts()
    months = enrolled.index.union(finished.index)
    if len(months) == 0:
        return pd.DataFrame({"month": pd.Series([], dtype="datetime64[ns]"), "enrolled": [], "completed": []})
    every_month = pd.period_range(months.min(), months.max(), freq="M")
    return pd.DataFrame({
        "month": every_month.to_timestamp(),
        "enrolled": enrolled.reindex(every_month, fill_value=0).to_numpy(dtype="int64"),
        "completed": finished.reindex(every_month, fill_value=0).to_numpy(dtype="int64"),
    })
