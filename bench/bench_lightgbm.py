"""Gradient boosting for the risk model: LightGBM (shipped since issue 14) against scikit-learn's
HistGradientBoosting (shipped before) on the same rows, same folds, same settings.

    .venv/bin/python bench/bench_lightgbm.py --data DIR [--folds 5] [--learners sklearn_hgb lightgbm] [--out FILE]

DIR holds a dataset (data.io.write_dataset).  The training rows come from the analytic
workspace exactly as ml.risk.training derives them, and the features from the same
selection; both learners get the shipped TrainingConfig (trees of 5 leaves, 360 rounds at
learning rate 0.05, 300 rows a leaf, L2 5, the same monotone constraints, native
categoricals, no early stopping) and run on the grouped folds training uses, with 2 threads.
Reports per learner: fit seconds summed over the folds, pooled held-out ROC-AUC, and the
decision-day ROC-AUC (rows at waited_days == 0), plus the ratios.  LightGBM won at equal AUC
and is the shipped learner (ml/risk/models.py); the HistGradientBoosting pipeline is kept here
so the comparison can be re-run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def hist_gradient_boosting_pipeline(config, features):
    """The gradient-boosting pipeline as shipped before issue 14: scikit-learn's
    HistGradientBoosting with the settings LightGBM now gets (max_leaf_nodes <- num_leaves,
    min_samples_leaf <- min_child_samples, l2_regularization <- reg_lambda, max_iter <- n_estimators)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from ml.risk.models import gradient_boosting

    pipeline = gradient_boosting(config, features)
    shipped = pipeline.named_steps["model"]
    categorical = set(shipped.categorical_columns)
    width = len(shipped.monotone_constraints)
    pipeline.steps[-1] = ("model", HistGradientBoostingClassifier(
        learning_rate=config.gb_learning_rate, max_iter=config.gb_max_iter, max_leaf_nodes=config.gb_max_leaf_nodes,
        min_samples_leaf=config.gb_min_samples_leaf, l2_regularization=config.gb_l2_regularization,
        early_stopping=False, categorical_features=[i in categorical for i in range(width)],
        monotonic_cst=list(shipped.monotone_constraints), random_state=config.random_state))
    return pipeline


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--learners", nargs="+", default=["sklearn_hgb", "lightgbm"],
                        help="one learner a process for a paired whole-process A/B of time and peak memory")
    parser.add_argument("--out")
    args = parser.parse_args()
    from dataclasses import replace

    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score

    from data.io import read_dataset
    from ml.features import LABEL, model_inputs, usable_features
    from ml.risk.models import TrainingConfig, gradient_boosting
    from ml.risk.training import grouped_folds
    from ml.workspace import AnalyticWorkspace

    dataset = read_dataset(args.data)
    rows = AnalyticWorkspace.of(dataset, log=lambda m: None).training_rows
    features = usable_features(rows).used
    X, y = model_inputs(rows, features), rows[LABEL].to_numpy()
    config = replace(TrainingConfig(), n_folds=args.folds)
    splits, _ = grouped_folds(y, rows["patient_id"].to_numpy(), config)
    decision_day = (rows["waited_days"] == 0).to_numpy()
    learners = {"sklearn_hgb": hist_gradient_boosting_pipeline(config, features),
                "lightgbm": gradient_boosting(config, features)}
    out = {"date": str(date.today()), "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
           f"Python {platform.python_version()}", "data": args.data, "rows": int(len(rows)),
           "patients": int(rows["patient_id"].nunique()), "folds": args.folds, "learners": {}}
    for name in args.learners:
        pipeline = learners[name]
        held_out, seconds = np.empty(len(y)), 0.0
        for train, test in splits:
            started = time.perf_counter()
            model = clone(pipeline).fit(X.iloc[train], y[train])
            seconds += time.perf_counter() - started
            held_out[test] = model.predict_proba(X.iloc[test])[:, 1]
        out["learners"][name] = {"fit_seconds": round(seconds, 2), "roc_auc": round(roc_auc_score(y, held_out), 4),
                                 "decision_day_roc_auc": round(roc_auc_score(y[decision_day],
                                                                             held_out[decision_day]), 4)}
        print(name, out["learners"][name], flush=True)
    if len(out["learners"]) < 2:
        return
    a, b = out["learners"]["lightgbm"], out["learners"]["sklearn_hgb"]
    out["lightgbm_over_sklearn"] = {"fit_seconds": round(a["fit_seconds"] / b["fit_seconds"], 3),
                                    "roc_auc_difference": round(a["roc_auc"] - b["roc_auc"], 4),
                                    "decision_day_roc_auc_difference": round(
                                        a["decision_day_roc_auc"] - b["decision_day_roc_auc"], 4)}
    print(json.dumps(out["lightgbm_over_sklearn"]))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
