"""Time to the next stage from each decision point, with competing exits: the follow-up
data (days, event) the Aalen–Johansen estimator needs, built from
``data.journeys.derive_decision_points`` and the pathway definition.

From a decision point awaiting stage X (decided on ``decision_date``):

- **reached**: X happened, and its result leads on (or X has no results) — day of X;
- **exited**: X happened with a result that ends the pathway appropriately (e.g. a
  colonoscopy that rules cancer out) — day of X;
- **dropped out**: X did not happen and its allowed window closed before the as-of date —
  on the day the window closed (that is when the pathway calls it a dropout);
- **censored** (in progress): X has not happened and its window is still open at the
  as-of date — followed until the as-of date.

A stage dated before its decision (bad data) counts on day 0.

StageFollowUp keeps one stage's decision points encoded for the Journeys page, so that a
cohort's estimate is one count over them instead of a selection of its rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.analytics.competing_risks import (
    CENSORED,
    CumulativeIncidence,
    FollowUpCounts,
    aalen_johansen_of_counts,
    follow_up_counts,
    risk_table_of_counts,
)
from data.pathway import DEFAULT_PATHWAY, Pathway

REACHED, EXITED, DROPPED_OUT = 1, 2, 3
EVENTS = (REACHED, EXITED, DROPPED_OUT)
CENSOR_IN_PROGRESS = "in_progress"
CENSOR_REASON_LABELS = {CENSOR_IN_PROGRESS: "In progress at the as-of date (window still open)"}
FOLLOW_UP_COLUMNS = ("patient_id", "program", "awaiting_stage", "decision_date", "time", "event", "censor_reason")


def event_labels(awaiting_stage: str, pathway: Pathway = DEFAULT_PATHWAY) -> dict[int, str]:
    """What each event code means when awaiting ``awaiting_stage``, for legends and tables."""
    stage = pathway.stage(awaiting_stage)
    reached = f"Reached {stage.label.lower()}"
    if stage.ends:
        leads = " or ".join(stage.result_label(r).lower() for r in stage.leads_on)
        ends = " or ".join(stage.result_label(r).lower() for r in stage.ends)
        return {REACHED: f"{reached} ({leads})", EXITED: f"Exited appropriately ({ends})",
                DROPPED_OUT: "Dropped out"}
    return {REACHED: reached, EXITED: "Exited appropriately", DROPPED_OUT: "Dropped out"}


def follow_up_frame(decision_points: pd.DataFrame, journeys: pd.DataFrame, as_of,
                    pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """One row per decision point: FOLLOW_UP_COLUMNS (time in days since the decision,
    event 0 censored or one of EVENTS, censor_reason for censored rows)."""
    as_of = pd.Timestamp(as_of).normalize()
    points = decision_points
    results = pd.Series(None, index=points.index, dtype=object)
    for stage in pathway.stages:
        if not stage.has_results:
            continue
        at = (points["awaiting_stage"] == stage.name).to_numpy()
        if at.any():
            by_patient = journeys.set_index("patient_id")[f"{stage.name}_result"]
            results[at] = points.loc[at, "patient_id"].map(by_patient).to_numpy()
    ending = np.zeros(len(points), dtype=bool)
    for stage in pathway.stages:
        if stage.ends:
            ending |= ((points["awaiting_stage"] == stage.name) & results.isin(stage.ends)).to_numpy()

    decision = pd.to_datetime(points["decision_date"])
    reached_on = pd.to_datetime(points["next_stage_date"])
    closes = pd.to_datetime(points["window_closes"])
    happened = reached_on.notna().to_numpy()
    dropped = ~happened & (closes < as_of).to_numpy()
    event = np.where(happened, np.where(ending, EXITED, REACHED), np.where(dropped, DROPPED_OUT, 0))
    end = np.where(happened, reached_on, np.where(dropped, closes, as_of))
    time = ((pd.to_datetime(pd.Series(end, index=points.index)) - decision).dt.days.to_numpy(dtype=float))
    return pd.DataFrame({
        "patient_id": points["patient_id"].to_numpy(),
        "program": points["program"].to_numpy(),
        "awaiting_stage": points["awaiting_stage"].to_numpy(),
        "decision_date": decision.to_numpy(),
        "time": np.clip(time, 0, None),
        "event": event.astype("int64"),
        "censor_reason": np.where(event == 0, CENSOR_IN_PROGRESS, None),
    }, columns=list(FOLLOW_UP_COLUMNS))


@dataclass(frozen=True)
class TimeToNextStage:
    """One group's estimate: the curves and its risk table."""

    group: str
    incidence: CumulativeIncidence
    table: pd.DataFrame  # risk_table columns: day, at_risk, event_1..3, censored_<reason>

    @property
    def n(self) -> int:
        return self.incidence.n


def risk_table_days(max_day: float, step: int = 30) -> list[int]:
    last = int(np.ceil(max(max_day, step) / step) * step)
    return list(range(0, last + 1, step))


def time_to_next_stage(follow_up: pd.DataFrame, group: str = "Cohort", days=None) -> TimeToNextStage:
    """Aalen–Johansen curves of reached / exited / dropped out, and the risk table at ``days``."""
    return estimate_of_counts(
        follow_up_counts(follow_up["time"], follow_up["event"], EVENTS, follow_up["censor_reason"]), group, days)


def estimate_of_counts(counts: FollowUpCounts, group: str = "Cohort", days=None) -> TimeToNextStage:
    """``time_to_next_stage`` of the decision points summarised by ``counts``."""
    days = days if days is not None else risk_table_days(counts.times[-1] if len(counts.times) else 0)
    return TimeToNextStage(group, aalen_johansen_of_counts(counts, EVENTS), risk_table_of_counts(counts, EVENTS, days))


class StageFollowUp:
    """The decision points awaiting one stage, encoded once so that a cohort's FollowUpCounts is
    one bincount over them: each point's row in the cohort frame, and its distinct time and
    outcome (event code or censoring reason) as one integer. At 1M patients, selecting the
    cohort's rows of the follow-up frame, then sorting and masking them per outcome, took 30-60 ms
    of every filter change; this takes a few."""

    def __init__(self, follow_up: pd.DataFrame, awaiting_stage: str, frame_rows: np.ndarray, frame_size: int):
        """``follow_up``: the follow-up frame (every stage); ``frame_rows``: each of its rows' patient's
        position in the cohort frame of ``frame_size`` rows (-1: not in it)."""
        self._frame = follow_up
        self._at = np.flatnonzero((follow_up["awaiting_stage"] == awaiting_stage).to_numpy(dtype=bool))
        time = follow_up["time"].to_numpy()[self._at]
        event = follow_up["event"].to_numpy()[self._at]
        follow_up_counts(time, event, EVENTS)  # raises on bad values, as time_to_next_stage would
        self.times, time_code = np.unique(time, return_inverse=True)
        censored = event == CENSORED
        reasons = pd.Series(follow_up["censor_reason"].to_numpy()[self._at][censored], dtype=object)
        reasons = reasons.fillna("other").astype(str)
        self._reasons = sorted(set(reasons))
        # outcome 0..len(EVENTS)-1: the event codes; then one per censoring reason
        outcome = np.searchsorted(np.asarray(EVENTS), event)
        outcome[censored] = len(EVENTS) + pd.Index(self._reasons).get_indexer(reasons)
        self._outcomes = len(EVENTS) + len(self._reasons)
        self._codes = time_code * self._outcomes + outcome
        self._frame_rows = np.asarray(frame_rows, dtype="int64")[self._at]
        self._frame_size = frame_size
        self._groups = {}

    def __len__(self) -> int:
        return len(self._codes)

    def in_cohort(self, cohort_rows: np.ndarray) -> np.ndarray:
        """Which of the stage's decision points belong to the patients at ``cohort_rows``."""
        in_cohort = np.zeros(self._frame_size + 1, dtype=bool)  # the extra last slot: no such patient (-1)
        in_cohort[cohort_rows] = True
        return in_cohort[self._frame_rows]

    def group(self, column: str, value: str) -> np.ndarray:
        """Which of the stage's decision points have ``column`` (as text) equal to ``value``."""
        if column not in self._groups:  # factorised on first use: a few ms per column
            self._groups[column] = pd.factorize(self._frame[column].take(self._at).astype(str))
        codes, labels = self._groups[column]
        return np.isin(codes, np.flatnonzero(np.asarray(labels, dtype=object) == value))

    def counts(self, selected: np.ndarray) -> FollowUpCounts:
        """FollowUpCounts of the decision points where ``selected`` (a mask over the stage's)."""
        table = np.bincount(self._codes[selected], minlength=len(self.times) * self._outcomes)
        table = table.reshape(len(self.times), self._outcomes).astype("int64")
        occurring = table.any(axis=1)
        table = table[occurring]
        censored = {reason: table[:, len(EVENTS) + i] for i, reason in enumerate(self._reasons)
                    if table[:, len(EVENTS) + i].any()}
        return FollowUpCounts(self.times[occurring], {k: table[:, i] for i, k in enumerate(EVENTS)}, censored)


def follow_up_for_dataset(dataset, cohort_frame: pd.DataFrame, points: pd.DataFrame | None = None) -> pd.DataFrame:
    """The follow-up frame of every decision point in ``dataset``, with the patient
    attributes of ``cohort_frame`` (site, payer, …) the page compares groups by. ``points``:
    the decision points when already derived (the start-up workspace), else derived here."""
    if points is None:
        from data.journeys import derive_decision_points

        points = derive_decision_points(dataset.patients, dataset.events, dataset.as_of, dataset.pathway)
    follow_up = follow_up_frame(points, cohort_frame, dataset.as_of, dataset.pathway)
    attributes = [c for c in ("site", "payer", "region", "sex", "race_ethnicity") if c in cohort_frame.columns]
    return follow_up.merge(cohort_frame[["patient_id", *attributes]], on="patient_id", how="left",
                           validate="many_to_one")
