"""Rows the benefit model learns from (the logged pilot outreach) and scores (patients waiting now).

A *sweep* is a week of the pilot programme (every ``step_days`` from its first logged
call; the manifest's ``pilot_sweep_days`` when documented): on its first day the
navigators looked at everyone waiting and called some of them.  Each decision point waiting on a sweep day
(its awaited stage not yet happened, its window open) gives one row with the features
known that day; rows stop at the decision point's first call, because everything after
it is changed by the call.  Treatment = at least one call attempt during the sweep's
week.  Outcome = the awaited stage happened within its window, which is final once the
window has closed: rows whose window is still open at the as-of date are left out
(censored, as in ``ml.features.training_rows``).

Each called row also carries ``rebooked``: one of its call attempts reached the patient
and removed the barrier (disposition reached_rebooked), a post-call outcome that the
benefit model learns as a label, and ``reached`` (rebooked or declined) and
``wrong_number``, the steps before it.  Nothing dated after the sweep day becomes a feature:
the calls' dispositions, the next stage date and the ground truth are outcomes or
yardsticks, never inputs.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data.journeys import derive_decision_points
from data.pathway import DEFAULT_PATHWAY, Pathway
from ml.features import FEATURES, booking_made_on, landmark_rows, stacked_landmark_rows
from ml.sampling import sample_patients

# Time left to rebook is what a call can use: the product brief names it first.
TARGETING_FEATURES = FEATURES + ("days_left_in_window",)
SWEEP_DAYS = 7
TREATED, OUTCOME, REBOOKED = "called", "stage_done", "rebooked"
# Post-call labels of a called row, from its attempts' dispositions: the number on file
# was wrong; some attempt reached the patient (rebooked or declined).
WRONG_NUMBER, REACHED = "wrong_number", "reached"
REBOOKED_DISPOSITION = "reached_rebooked"
REACHED_DISPOSITIONS = ("reached_rebooked", "reached_declined")
PILOT_SOURCE = "pilot"


def logged_calls(outreach: pd.DataFrame | None, source: str | None = PILOT_SOURCE) -> pd.DataFrame:
    """Call attempts of the log (of one source when the log says where each came from)."""
    if outreach is None or outreach.empty:
        return pd.DataFrame(columns=["patient_id", "date", "awaited_stage", "disposition"])
    calls = outreach
    if source is not None and "source" in calls.columns and (calls["source"] == source).any():
        calls = calls[calls["source"] == source]
    return pd.DataFrame({"patient_id": calls["patient_id"].astype(str).to_numpy(),
                         "date": pd.to_datetime(calls["date"]).dt.normalize().to_numpy(),
                         "awaited_stage": calls["awaited_stage"].astype(str).to_numpy(),
                         "disposition": (calls["disposition"].astype(str).to_numpy() if "disposition" in calls.columns
                                         else np.full(len(calls), "", dtype=object))})


def sweep_days(calls: pd.DataFrame, step_days: int = SWEEP_DAYS) -> pd.DatetimeIndex:
    """The sweeps' first days: every ``step_days`` from the first logged call to the last."""
    dates = pd.to_datetime(calls["date"])
    return pd.date_range(dates.min(), dates.max(), freq=f"{int(step_days)}D")


def _first_call(points: pd.DataFrame, calls: pd.DataFrame) -> tuple[np.ndarray, dict]:
    """Date of each decision point's first logged call while it was waiting (NaT if never), and
    per post-call label (rebooked: reached and barrier removed; reached; wrong number) whether
    any of its calls ended so."""
    keyed = points[["patient_id", "awaiting_stage", "decision_date", "window_closes"]].astype(
        {"patient_id": str, "awaiting_stage": str}).reset_index(names="_point")
    matched = keyed.merge(calls.rename(columns={"awaited_stage": "awaiting_stage"}),
                          on=["patient_id", "awaiting_stage"], how="inner")
    matched = matched[(matched["date"] >= matched["decision_date"]) & (matched["date"] <= matched["window_closes"])]
    first = matched.groupby("_point")["date"].min()
    out = np.full(len(points), np.datetime64("NaT"), dtype="datetime64[ns]")
    out[first.index.to_numpy()] = first.to_numpy(dtype="datetime64[ns]")
    labels = {}
    for label, dispositions in ((REBOOKED, (REBOOKED_DISPOSITION,)), (REACHED, REACHED_DISPOSITIONS),
                                (WRONG_NUMBER, ("wrong_number",))):
        labels[label] = np.zeros(len(points), bool)
        labels[label][matched.loc[matched["disposition"].isin(dispositions), "_point"].unique()] = True
    return out, labels


def stage_done_in_window(frame: pd.DataFrame) -> pd.Series:
    """The awaited stage happened within its window: the outcome a call can change."""
    return frame["next_stage_date"].notna() & (frame["next_stage_date"] <= frame["window_closes"])


def _with_window_left(rows: pd.DataFrame) -> pd.DataFrame:
    rows["days_left_in_window"] = (rows["window_closes"] - rows["landmark_date"]).dt.days.astype(float)
    return rows


def pilot_rows(patients: pd.DataFrame, events: pd.DataFrame, outreach: pd.DataFrame | None, as_of,
               pathway: Pathway = DEFAULT_PATHWAY, source: str | None = PILOT_SOURCE,
               step_days: int = SWEEP_DAYS, points: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (decision point, sweep day) while waiting and not yet called, with the
    treatment (called that week) and the final outcome (stage done within its window).
    ``points``: the decision points of these tables when already derived (ml.workspace)."""
    as_of = pd.Timestamp(as_of).normalize()
    calls = logged_calls(outreach, source)
    if points is None:
        points = derive_decision_points(patients, events, as_of, pathway)
    # Final outcome only: the window closed before the as-of date.
    points = points[points["window_closes"] < as_of].reset_index(drop=True)
    if calls.empty or points.empty:
        return _with_window_left(landmark_rows(points.iloc[:0], np.zeros(0), patients)).assign(
            **{TREATED: pd.Series(dtype=int), OUTCOME: pd.Series(dtype=int), REBOOKED: pd.Series(dtype=int),
               REACHED: pd.Series(dtype=int), WRONG_NUMBER: pd.Series(dtype=int), "sweep_day": pd.Series(dtype="datetime64[ns]")})
    first_call, labels = _first_call(points, calls)
    booked_on = booking_made_on(points, events, pathway)
    decision = points["decision_date"].to_numpy("datetime64[ns]")
    closes = points["window_closes"].to_numpy("datetime64[ns]")
    done = points["next_stage_date"].to_numpy("datetime64[ns]")
    # Which point waits on which sweep day, gathered first: the feature rows of every sweep are
    # then built in one frame (one merge with the patients table, not one per sweep).
    at, sweep, treated = [], [], []
    for day in sweep_days(calls, step_days):
        d = np.datetime64(day, "ns")
        week_end = d + np.timedelta64(int(step_days), "D")
        waiting = (decision <= d) & (closes >= d) & ~(done <= d)  # NaT compares False: never done
        not_called_before = ~(first_call < d)
        rows_at = np.flatnonzero(waiting & not_called_before)
        at.append(rows_at)
        sweep.append(np.full(len(rows_at), d))
        treated.append((first_call[rows_at] >= d) & (first_call[rows_at] < week_end))
    at, sweep, treated = np.concatenate(at), np.concatenate(sweep), np.concatenate(treated)
    if not len(at):
        return pilot_rows(patients, events, None, as_of, pathway, points=points)
    waited = ((sweep - decision[at]) / np.timedelta64(1, "D")).astype(float)
    rows = stacked_landmark_rows(points, at, waited, patients, booked_on)
    rows["sweep_day"] = sweep
    rows[TREATED] = treated.astype(int)
    for label, values in labels.items():
        rows[label] = (treated & values[at]).astype(int)
    rows = _with_window_left(rows)
    rows[OUTCOME] = stage_done_in_window(rows).astype(int)
    return rows.sort_values(["patient_id", "decision_date", "sweep_day"], kind="stable").reset_index(drop=True)


def targeting_scoring_rows(scoring: pd.DataFrame) -> pd.DataFrame:
    """``ml.features.scoring_rows`` with the targeting features added (the as-of date is the landmark)."""
    return _with_window_left(scoring.copy())


UNEXPOSED_LANDMARK_DAYS = 7


def unexposed_rows(patients: pd.DataFrame, events: pd.DataFrame, outreach: pd.DataFrame | None, as_of,
                   pathway: Pathway = DEFAULT_PATHWAY, step_days: int = UNEXPOSED_LANDMARK_DAYS,
                   points: pd.DataFrame | None = None, max_rows: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Landmark rows (every ``step_days`` of the wait) of the decision points no outreach could
    touch: their wait (decision date to the awaited stage or the window's close) lies wholly
    before the log's first call or after its last, and their outcome is final.

    ``max_rows``: at most this many, from a random sample of whole patients (ml.sampling,
    ``seed``), drawn before the rows are built (at 10M patients they would be ~15M rows); what
    was sampled is in ``rows.attrs["sample"]``.

    They teach P(stage done without a call).  The logged rows nobody called that week are a
    poorer teacher: many were called in a later week (the pilot's staff called the long
    overdue), so their outcomes include rescues, most of all for the patients a call helps.
    """
    as_of = pd.Timestamp(as_of).normalize()
    calls = logged_calls(outreach, None)
    if points is None:
        points = derive_decision_points(patients, events, as_of, pathway)
    points = points[points["window_closes"] < as_of]
    if not calls.empty:
        wait_ends = points["next_stage_date"].where(stage_done_in_window(points), points["window_closes"])
        exposed = (points["decision_date"] <= calls["date"].max()) & (wait_ends >= calls["date"].min())
        points = points[~exposed]
    points = points.reset_index(drop=True)
    booked_on = booking_made_on(points, events, pathway)
    decision = points["decision_date"].to_numpy("datetime64[ns]")
    closes = points["window_closes"].to_numpy("datetime64[ns]")
    done = points["next_stage_date"].to_numpy("datetime64[ns]")
    longest = int((closes - decision).max() / np.timedelta64(1, "D")) if len(points) else -1
    at, waits = [], []
    for waited in range(0, longest + 1, int(step_days)):
        day = decision + np.timedelta64(waited, "D")
        still = np.flatnonzero((closes >= day) & ~(done <= day))  # still waiting, window open
        at.append(still)
        waits.append(np.full(len(still), float(waited)))
    at, waits = (np.concatenate(at), np.concatenate(waits)) if at else (np.zeros(0, int), np.zeros(0))
    sample = sample_patients(points["patient_id"].to_numpy()[at], max_rows, seed)
    at, waits = at[sample.keep], waits[sample.keep]
    if not len(at):
        rows = _with_window_left(landmark_rows(points.iloc[:0], np.zeros(0), patients)).assign(
            **{OUTCOME: pd.Series(dtype=int)})
    else:
        rows = _with_window_left(stacked_landmark_rows(points, at, waits, patients, booked_on))
        rows[OUTCOME] = stage_done_in_window(rows).astype(int)
    rows.attrs["sample"] = sample.as_report()
    return rows
