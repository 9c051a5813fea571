"""What a risk score buys in decisions: net benefit (decision curves), what a weekly calling
capacity reaches, and the trade-offs at fixed thresholds.

All three use one row per decision point (its decision day, held-out risk), because a
coordinator decides once per decision point, not once per landmark row. Counts are plain
integer columns built in one place per table, so small-cell rules can be applied to them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

NET_BENEFIT_THRESHOLDS = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))
WEEKLY_CAPACITIES = (5, 10, 20, 30, 50, 100, 200)
RISK_THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def net_benefit(outcome: np.ndarray, risk: np.ndarray, threshold: float) -> float:
    """Vickers & Elkin: true positives per patient minus false positives weighted by the odds of the threshold."""
    flagged = risk >= threshold
    n = len(outcome)
    true_pos = np.sum(flagged & (outcome == 1)) / n
    false_pos = np.sum(flagged & (outcome == 0)) / n
    return float(true_pos - false_pos * threshold / (1 - threshold))


def decision_curve(outcome: np.ndarray, risks: dict[str, np.ndarray],
                   thresholds=NET_BENEFIT_THRESHOLDS) -> dict:
    """Net benefit of each ranking against treat-all and treat-none (0) over threshold probabilities."""
    outcome = np.asarray(outcome, int)
    prevalence = outcome.mean()
    curve = {"threshold": [float(t) for t in thresholds],
             "treat_all": [float(prevalence - (1 - prevalence) * t / (1 - t)) for t in thresholds],
             "treat_none": [0.0 for _ in thresholds]}
    for name, risk in risks.items():
        curve[name] = [net_benefit(outcome, np.asarray(risk, float), t) for t in thresholds]
    return curve


def capacity_table(decision_dates: pd.Series, outcome: np.ndarray, risks: dict[str, np.ndarray],
                   capacities=WEEKLY_CAPACITIES) -> list[dict]:
    """Calling the top N decision points of each week (by each ranking): calls made, dropouts among
    them, the share of all dropouts that is, and the number needed to call to reach one dropout.

    ``random`` is the expected yield of calling N at random each week (the dropout rate)."""
    week = pd.to_datetime(decision_dates).dt.to_period("W").astype(str).to_numpy()
    outcome = np.asarray(outcome, int)
    total_dropouts = int(outcome.sum())
    per_week = pd.Series(week).value_counts()
    n_weeks = len(per_week)
    records = []
    # A capacity at or above a typical week's decisions calls everybody: nothing left to rank.
    for capacity in [c for c in capacities if c < per_week.median()] or [max(1, int(per_week.median()) // 2)]:
        for ranking, risk in risks.items():
            frame = pd.DataFrame({"week": week, "risk": np.asarray(risk, float), "y": outcome})
            ranks = frame.groupby("week")["risk"].rank(method="first", ascending=False)
            called = (ranks <= capacity).to_numpy()
            records.append(_capacity_row(capacity, ranking, int(called.sum()), int(outcome[called].sum()),
                                         total_dropouts, n_weeks))
        calls = int(per_week.clip(upper=capacity).sum())
        records.append(_capacity_row(capacity, "random", calls, int(round(calls * outcome.mean())),
                                     total_dropouts, n_weeks))
    return records


def _capacity_row(capacity: int, ranking: str, calls: int, dropouts_reached: int, total_dropouts: int,
                  weeks: int) -> dict:
    return {"calls_per_week": capacity, "ranking": ranking, "weeks": weeks, "calls": calls,
            "dropouts_reached": dropouts_reached, "dropouts_total": total_dropouts,
            "share_of_dropouts": dropouts_reached / total_dropouts if total_dropouts else None,
            "calls_per_dropout_reached": calls / dropouts_reached if dropouts_reached else None}


def threshold_table(outcome: np.ndarray, risk: np.ndarray, thresholds=RISK_THRESHOLDS) -> list[dict]:
    """Flag everyone at or above a risk: how many, and how sensitive, specific and precise that is."""
    outcome, risk = np.asarray(outcome, int), np.asarray(risk, float)
    records = []
    for threshold in thresholds:
        flagged = risk >= threshold
        tp, fp = int(np.sum(flagged & (outcome == 1))), int(np.sum(flagged & (outcome == 0)))
        fn, tn = int(np.sum(~flagged & (outcome == 1))), int(np.sum(~flagged & (outcome == 0)))
        records.append({
            "threshold": float(threshold), "flagged": tp + fp, "rows": len(outcome),
            "true_positives": tp, "false_positives": fp, "false_negatives": fn, "true_negatives": tn,
            "flagged_share": (tp + fp) / len(outcome),
            "sensitivity": tp / (tp + fn) if tp + fn else None, "specificity": tn / (tn + fp) if tn + fp else None,
            "ppv": tp / (tp + fp) if tp + fp else None, "npv": tn / (tn + fn) if tn + fn else None,
        })
    return records
