"""Monitoring a deployed risk model while its labels are months away.

``history`` (computed at training time from held-out risks) gives calibration and AUC by month
of decision where labels exist, and checks the label-free estimates against them. ``monitor``
compares today's in-progress patients with the training window (PSI per input) and estimates
their performance from the calibrated risks; it raises an alert on a shift that needs a look.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ml.features import CATEGORICAL_FEATURES
from ml.monitor.drift import PSI_ALERT, PSI_WATCH, drift_table, reference_profile
from ml.monitor.performance import estimate_check, expected_auc, monthly_performance


def history(rows: pd.DataFrame, outcome: np.ndarray, risk: np.ndarray, features,
            weight: np.ndarray | None = None) -> dict:
    """The monitoring section of the model report: monthly performance of the decision-day rows
    (one per decision point), the estimate check, and the drift reference profile.

    The reference is every landmark row of the training window (patients still waiting on the
    decision day and at each later landmark), not the decision day alone: today's in-progress
    patients are those still waiting, so they over-represent long booked leads by construction,
    and a decision-day reference would report that as drift.

    ``weight``: the drop-in IPC weights of the rows (ml.risk.drop_in; None when calls were not
    adjusted for): the realised figures are then those of the uncalled decision points, weighted,
    since a risk-if-no-one-calls cannot predict the rescued outcomes of called patients."""
    day0 = (rows["waited_days"] == 0).to_numpy()
    months = monthly_performance(rows.loc[day0, "decision_date"], outcome[day0], risk[day0],
                                 None if weight is None else np.asarray(weight)[day0])
    realised = ("uncalled decision points, weighted by 1 / P(staying uncalled)" if weight is not None
                else "every decision point")
    return {"by_month": months, "estimate_check": estimate_check(months) | {"realised_labels": realised},
            "reference": reference_profile(rows, features, CATEGORICAL_FEATURES),
            "reference_rows": int(len(rows))}


def assess(section: dict, current: pd.DataFrame, risk: np.ndarray, cross_validated_auc: float) -> dict:
    """Drift of ``current`` (in-progress rows) against the reference of ``section`` (the report's
    monitoring section), and their estimated performance; ``alert`` when any PSI reaches PSI_ALERT."""
    drift = drift_table(section["reference"], current)
    alerts = [d for d in drift if d["status"] == "alert"]
    return {
        "in_progress_patients": int(len(current)),
        "alert": bool(alerts),
        "reasons": [f"{d['feature']}: PSI {d['psi']:.2f} >= {PSI_ALERT}" for d in alerts],
        "watch": [d["feature"] for d in drift if d["status"] == "watch"],
        "thresholds": {"psi_watch": PSI_WATCH, "psi_alert": PSI_ALERT},
        "drift": drift,
        "estimated": {"dropout_rate": float(risk.mean()) if len(risk) else None,
                      "roc_auc": expected_auc(risk),
                      "cross_validated_roc_auc": cross_validated_auc},
    }


def monitor(dataset, bundle) -> dict:
    """``assess`` for today's in-progress patients of ``dataset`` under the trained ``bundle``,
    with the labelled history of the model report."""
    section = bundle.report.get("monitoring") or {}
    if not section.get("reference"):
        raise ValueError("this model report has no monitoring reference (trained before monitoring existed); "
                         "retrain the models")
    from ml.workspace import AnalyticWorkspace  # late import: ml.risk.training imports this package

    current = AnalyticWorkspace.of(dataset).scoring_rows
    risk = bundle.risk(current) if len(current) else np.array([])
    return {"as_of": str(pd.Timestamp(dataset.as_of).date()), "model_key": bundle.key,
            **assess(section, current, risk, bundle.report["models"][bundle.primary]["roc_auc"]),
            "history": section.get("by_month", []), "estimate_check": section.get("estimate_check")}
