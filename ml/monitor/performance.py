"""Performance under label delay: realised metrics by month where labels exist, and
confidence-based estimates (from the calibrated probabilities alone) where they do not yet.

If the risks are calibrated, each patient drops out with probability p, so the expected
dropout rate is mean(p) and the expected ROC-AUC is the share of (dropout, completer) pairs
ranked correctly, each pair weighted by p_i (1 − p_j). On history the estimate is checked
against the realised labels month by month.

Which labels: the risk is the risk if no one calls (ml.risk.drop_in), and a call rescues
some patients, so the realised labels of called patients are not what it predicts. With
``weight`` (the drop-in IPC weights: 0 for decision points a call reached, 1 / P(staying
uncalled) for the others) the realised rate and AUC are those of the uncalled decision
points, weighted to stand for everyone: the no-call outcomes the estimate is about.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

MIN_MONTH_ROWS = 30  # fewer decision points in a month: its AUC is not reported


def expected_auc(risk: np.ndarray) -> float | None:
    """ROC-AUC expected if each outcome were drawn from its calibrated risk (ties count half)."""
    p = np.asarray(risk, float)
    if len(p) < 2:
        return None
    order = np.argsort(p, kind="stable")
    p = p[order]
    # For each row, the expected non-events among strictly lower scores, plus half of its tied group.
    negatives = 1 - p
    _, first, counts = np.unique(p, return_index=True, return_counts=True)
    below = np.concatenate([[0.0], np.cumsum(negatives)])[first]
    tied = np.add.reduceat(negatives, first)
    below_of_row = np.repeat(below, counts)
    tied_of_row = np.repeat(tied, counts)
    # a row is not paired with itself: remove its own (1 − p) from the tied half
    correct = np.sum(p * (below_of_row + 0.5 * (tied_of_row - negatives)))
    pairs = p.sum() * negatives.sum() - np.sum(p * negatives)
    return float(correct / pairs) if pairs > 0 else None


def monthly_performance(decision_dates: pd.Series, outcome: np.ndarray, risk: np.ndarray,
                        weight: np.ndarray | None = None) -> list[dict]:
    """By month of decision: rows, realised dropout rate and AUC, calibration-in-the-large
    (observed − predicted), and the label-free estimates of the rate and AUC.

    The estimates and the mean prediction use every row (as for patients whose labels are still
    months away); the realised figures use the rows of positive ``weight`` with those weights
    (None: every row once), see the module docstring."""
    month = pd.to_datetime(decision_dates).dt.to_period("M").astype(str).to_numpy()
    outcome, risk = np.asarray(outcome, int), np.asarray(risk, float)
    weight = np.ones(len(outcome)) if weight is None else np.asarray(weight, float)
    records = []
    for value in sorted(set(month)):
        mask = month == value
        p = risk[mask]
        labelled = mask & (weight > 0)
        y, w = outcome[labelled], weight[labelled]
        observed = float(np.average(y, weights=w)) if labelled.any() else None
        enough = labelled.sum() >= MIN_MONTH_ROWS and y.min() != y.max()
        records.append({
            "month": value, "rows": int(mask.sum()), "labelled_rows": int(labelled.sum()),
            "observed_rate": observed, "mean_predicted": float(p.mean()),
            "calibration_in_the_large": None if observed is None else observed - float(p.mean()),
            "roc_auc": float(roc_auc_score(y, risk[labelled], sample_weight=w)) if enough else None,
            "estimated_roc_auc": expected_auc(p) if mask.sum() >= MIN_MONTH_ROWS else None,
        })
    return records


def estimate_check(months: list[dict]) -> dict:
    """How close the label-free estimates came to the realised figures over the labelled months."""
    auc_pairs = [(m["estimated_roc_auc"], m["roc_auc"]) for m in months
                 if m["roc_auc"] is not None and m["estimated_roc_auc"] is not None]
    rate_errors = [abs(m["mean_predicted"] - m["observed_rate"]) for m in months
                   if m.get("labelled_rows", m["rows"]) >= MIN_MONTH_ROWS and m["observed_rate"] is not None]
    return {
        "months": len(auc_pairs),
        "auc_mean_abs_error": float(np.mean([abs(e - r) for e, r in auc_pairs])) if auc_pairs else None,
        "estimated_auc_mean": float(np.mean([e for e, _ in auc_pairs])) if auc_pairs else None,
        "realised_auc_mean": float(np.mean([r for _, r in auc_pairs])) if auc_pairs else None,
        "rate_mean_abs_error": float(np.mean(rate_errors)) if rate_errors else None,
    }
