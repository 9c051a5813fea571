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
Every sum is a cumulative sum over event times, so a curve is O(distinct times).
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


def aalen_johansen(time, event, events: tuple[int, ...], z: float = Z_95) -> CumulativeIncidence:
    """Cumulative incidence of each code in ``events`` with pointwise intervals (see module doc)."""
    time, event = _validated(time, event, events)
    n = len(time)
    if n == 0:
        empty = pd.DataFrame(columns=["event", "time", "estimate", "lower", "upper", "se"])
        return CumulativeIncidence(empty, pd.DataFrame(columns=["time", "at_risk", "survival"]), 0)
    happened = event != CENSORED
    times = np.unique(time[happened])
    # at risk at t_j: subjects whose time >= t_j
    sorted_time = np.sort(time)
    at_risk = (n - np.searchsorted(sorted_time, times, side="left")).astype(float)
    position = np.searchsorted(times, time[happened])
    d_k = {k: np.bincount(position[event[happened] == k], minlength=len(times)).astype(float) for k in events}
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
    time, event = _validated(time, event, events)
    days = np.asarray(sorted({int(d) for d in days}), dtype=float)
    starts = np.concatenate([[-np.inf], days[:-1]])
    table = {"day": days.astype("int64")}
    # Interval (start, end]; the first one is [0, end].
    bins = np.searchsorted(days, time, side="left")  # index of the first day >= time
    in_range = bins < len(days)
    table["at_risk"] = np.array([(time > s).sum() if np.isfinite(s) else len(time) for s in starts], dtype="int64")

    def counts(mask: np.ndarray) -> np.ndarray:
        return np.bincount(bins[mask & in_range], minlength=len(days))[:len(days)].astype("int64")

    for k in events:
        table[f"event_{k}"] = counts(event == k)
    if censor_reason is None:
        table["censored"] = counts(event == CENSORED)
    else:
        reasons = pd.Series(censor_reason).fillna("other").astype(str).to_numpy()
        for reason in sorted(set(reasons[event == CENSORED])):
            table[f"censored_{reason}"] = counts((event == CENSORED) & (reasons == reason))
    return pd.DataFrame(table)
