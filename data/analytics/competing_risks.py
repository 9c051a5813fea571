"""Cumulative incidence with competing events (Aalen–Johansen), with pointwise 95 %
intervals and a Kaplan–Meier-style risk table.

Pure numpy/pandas: lifelines pins pandas < 3 and scikit-survival is GPL-3.0.

Data are one row per subject: ``time`` (days, >= 0) and ``event`` (0 = censored,
1..K = the competing event that ended follow-up). At each distinct event time t_j with
n_j subjects at risk (time >= t_j), d_kj events of type k and d_j = sum_k d_kj:

    S(t)   = prod_{t_j <= t} (1 - d_j / n_j)                    (all-cause Kaplan–Meier)
    F_k(t) = sum_{t_j <= t} S(t_{j-1}) * d_kj / n_j              (Aalen–Johansen CIF)

so that S(t) + sum_k F_k(t) = 1 at every t. Subjects censored at t_j count as at risk
at t_j (censoring happens just after events, the usual convention).

Variance: the delta-method ("Greenwood-type") estimator of Marubini & Valsecchi (1995),
also given by Pintilie (2006, eq. 4.5):

    Var F_k(t) = sum_{t_j <= t} [F_k(t) - F_k(t_j)]^2 d_j / (n_j (n_j - d_j))
               + sum_{t_j <= t} S(t_{j-1})^2 d_kj (n_j - d_kj) / n_j^3
               - 2 sum_{t_j <= t} [F_k(t) - F_k(t_j)] S(t_{j-1}) d_kj / n_j^2

(the first sum's term is taken as 0 when n_j = d_j, where it multiplies [F_k(t) - F_k(t_j)] = 0
for every later t anyway). Intervals use the log(-log) transform, so they stay within [0, 1].
Every sum is a cumulative sum over event times, so a curve is O(distinct times). Both the
curves and the risk table read only the subjects' counts per distinct time (FollowUpCounts),
however they were counted.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

Z_95 = 1.959963984540054
CENSORED = 0


@dataclass(frozen=True)
class CumulativeIncidence:
    """Curves at every distinct event time (step functions, right-continuous).

    ``curves`` has one row per (event, time): event (its code), time, estimate, lower, upper,
    se; ``survival`` one row per time: time, at_risk, the all-cause event-free share.
    """

    curves: pd.DataFrame
    survival: pd.DataFrame
    n: int

    def at(self, event: int, days) -> np.ndarray:
        """F_event at each of ``days`` (0 before the first event time)."""
        curve = self.curves[self.curves["event"] == event]
        position = np.searchsorted(curve["time"].to_numpy(), np.asarray(days, dtype=float), side="right") - 1
        values = np.concatenate([[0.0], curve["estimate"].to_numpy()])
        return values[position + 1]

    def survival_at(self, days) -> np.ndarray:
        times = self.survival["time"].to_numpy()
        position = np.searchsorted(times, np.asarray(days, dtype=float), side="right") - 1
        values = np.concatenate([[1.0], self.survival["survival"].to_numpy()])
        return values[position + 1]


def _validated(time, event, events: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype="int64")
    if time.shape != event.shape:
        raise ValueError("time and event must have the same length")
    if len(time) and (np.isnan(time).any() or (time < 0).any()):
        raise ValueError("time: every value must be a number of days >= 0")
    unknown = set(np.unique(event).tolist()) - {CENSORED, *events}
    if unknown:
        raise ValueError(f"event: codes {sorted(unknown)} are neither censored (0) nor among {list(events)}")
    return time, event


def _log_log_interval(estimate: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise interval on the log(-log) scale; degenerate at 0 and 1."""
    lower, upper = estimate.copy(), estimate.copy()
    inside = (estimate > 0) & (estimate < 1) & (se > 0)
    f = estimate[inside]
    theta = np.log(-np.log(f))
    se_theta = se[inside] / (f * np.abs(np.log(f)))
    lower[inside] = np.exp(-np.exp(theta + z * se_theta))
    upper[inside] = np.exp(-np.exp(theta - z * se_theta))
    return lower, upper


@dataclass(frozen=True)
class FollowUpCounts:
    """Follow-up summarised per distinct time: how many subjects' follow-up ended there with each
    event code, and censored (by reason; the key None when no reasons are given). Both estimates
    below read only these counts, so a caller holding pre-encoded subjects (one bincount per
    cohort) gets the same numbers as from the subjects' rows."""

    times: np.ndarray  # ascending distinct times at which some subject's follow-up ended
    events: dict  # event code -> int64 counts per time
    censored: dict  # reason (or None) -> int64 counts per time; only reasons that occur

    @property
    def ended(self) -> np.ndarray:
        """Subjects whose follow-up ended at each time, whatever the outcome."""
        return sum(self.events.values(), start=sum(self.censored.values(), start=np.zeros(len(self.times), "int64")))

    @property
    def n(self) -> int:
        return int(self.ended.sum())


def follow_up_counts(time, event, events: tuple[int, ...], censor_reason=None) -> FollowUpCounts:
    """FollowUpCounts of subjects given one row each (validated as ``aalen_johansen`` does).
    ``censor_reason`` labels the censored rows (missing: "other"); None: one "censored" count."""
    time, event = _validated(time, event, events)
    times, at = np.unique(time, return_inverse=True)

    def counts(mask: np.ndarray) -> np.ndarray:
        return np.bincount(at[mask], minlength=len(times)).astype("int64")

    censored = event == CENSORED
    if censor_reason is None:
        by_reason = {None: counts(censored)}
    else:
        reasons = pd.Series(censor_reason).fillna("other").astype(str).to_numpy()
        by_reason = {reason: counts(censored & (reasons == reason)) for reason in sorted(set(reasons[censored]))}
    return FollowUpCounts(times, {k: counts(event == k) for k in events}, by_reason)


def aalen_johansen(time, event, events: tuple[int, ...], z: float = Z_95) -> CumulativeIncidence:
    """Cumulative incidence of each code in ``events`` with pointwise intervals (see module doc)."""
    return aalen_johansen_of_counts(follow_up_counts(time, event, events), events, z)


def aalen_johansen_of_counts(counts: FollowUpCounts, events: tuple[int, ...], z: float = Z_95) -> CumulativeIncidence:
    """``aalen_johansen`` from the subjects' FollowUpCounts."""
    ended = counts.ended
    n = int(ended.sum())
    if n == 0:
        empty = pd.DataFrame(columns=["event", "time", "estimate", "lower", "upper", "se"])
        return CumulativeIncidence(empty, pd.DataFrame(columns=["time", "at_risk", "survival"]), 0)
    no_events = np.zeros(len(counts.times), dtype="int64")
    happened = sum((counts.events.get(k, no_events) for k in events), start=no_events) > 0
    times = counts.times[happened].astype(float)
    # at risk at t_j: subjects whose time >= t_j, i.e. all but those who ended before t_j
    ended_before = np.cumsum(ended) - ended
    at_risk = (n - ended_before[happened]).astype(float)
    d_k = {k: counts.events.get(k, no_events)[happened].astype(float) for k in events}
    d_all = sum(d_k.values()) if events else np.zeros(len(times))
    survival = np.cumprod(1.0 - d_all / at_risk)
    survival_before = np.concatenate([[1.0], survival[:-1]])
    survivors_left = at_risk - d_all
    greenwood = np.divide(d_all, at_risk * survivors_left, out=np.zeros_like(d_all), where=survivors_left > 0)

    rows = []
    for k in events:
        jump = survival_before * d_k[k] / at_risk
        estimate = np.cumsum(jump)
        # Sum_j (F(t) - F_j)^2 a_j = F(t)^2 A - 2 F(t) sum F_j a_j + sum F_j^2 a_j, all cumulative.
        a = greenwood
        first = (estimate ** 2 * np.cumsum(a) - 2 * estimate * np.cumsum(estimate * a)
                 + np.cumsum(estimate ** 2 * a))
        second = np.cumsum(survival_before ** 2 * d_k[k] * (at_risk - d_k[k]) / at_risk ** 3)
        b = survival_before * d_k[k] / at_risk ** 2
        third = -2 * (estimate * np.cumsum(b) - np.cumsum(estimate * b))
        variance = np.clip(first + second + third, 0, None)
        se = np.sqrt(variance)
        lower, upper = _log_log_interval(estimate, se, z)
        rows.append(pd.DataFrame({"event": k, "time": times, "estimate": estimate, "lower": lower,
                                  "upper": upper, "se": se}))
    curves = pd.concat(rows, ignore_index=True)
    return CumulativeIncidence(curves, pd.DataFrame({"time": times, "at_risk": at_risk.astype("int64"),
                                                     "survival": survival}), n)


def risk_table(time, event, events: tuple[int, ...], days, censor_reason=None) -> pd.DataFrame:
    """A Kaplan–Meier-style risk table: per interval ending at each of ``days`` (the first
    interval starts at day 0 and includes it), the subjects at risk at its start, the events
    of each code and the censored subjects (by reason, when ``censor_reason`` labels each
    row; one column ``censored`` otherwise) within it.

    Columns: day, at_risk, event_<code>..., censored[_<reason>...]; plain integers, so a
    caller can suppress small cells in one place. Rows add up: at_risk of the next row =
    at_risk - events - censored of this one.
    """
    return risk_table_of_counts(follow_up_counts(time, event, events, censor_reason), events, days)


def risk_table_of_counts(counts: FollowUpCounts, events: tuple[int, ...], days) -> pd.DataFrame:
    """``risk_table`` from the subjects' FollowUpCounts."""
    days = np.asarray(sorted({int(d) for d in days}), dtype=float)
    # Interval (start, end]; the first one is [0, end]: follow-up ended after the previous day
    # and by this one, i.e. the number ended by each day minus the number ended by the one before.
    last = np.searchsorted(counts.times, days, side="right")  # times <= day: counts.times[:last]

    def within(per_time: np.ndarray) -> np.ndarray:
        by_day = np.concatenate([[0], np.cumsum(per_time)])[last]
        return np.diff(by_day, prepend=0).astype("int64")

    ended = counts.ended
    n = int(ended.sum())
    table = {"day": days.astype("int64"),
             "at_risk": (n - np.concatenate([[0], np.cumsum(ended)])[np.concatenate([[0], last[:-1]])]).astype("int64")}
    no_events = np.zeros(len(counts.times), dtype="int64")
    for k in events:
        table[f"event_{k}"] = within(counts.events.get(k, no_events))
    for reason, per_time in counts.censored.items():
        table["censored" if reason is None else f"censored_{reason}"] = within(per_time)
    return pd.DataFrame(table)
