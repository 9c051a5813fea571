"""Learning curve of the risk models: accuracy on fixed held-out patients against the number
of training rows, to choose the training sample's cap (ml.sampling, issue 14).

    .venv/bin/python bench/bench_training_sample.py --var DIR --caps 100000 200000 300000 500000 0

DIR is a CAREPATH_VAR_DIR holding a generated dataset (``data/``; ``bench_startup.py
--prepare``); its workspace cache is used when present. A fifth of the patients (seeded) is
held out once; for each cap (0 = every other row) a sample of the remaining patients is drawn
by ``sample_patients`` exactly as training draws it, both models are fitted on it with the
drop-in IPC weights (computed once over every row, as a first start does), and scored on the
same held-out rows: ROC-AUC pooled and on the decision day, each beside the generator's true
probability (the oracle) on the same rows, and the mean |risk - true probability| after
Platt scaling fitted on the sample's own out-of-sample tenth. Writes
bench/results/training-sample-<patients>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var", required=True, type=Path)
    parser.add_argument("--caps", type=int, nargs="+", default=[100_000, 200_000, 300_000, 500_000, 0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.update(CAREPATH_VAR_DIR=str(args.var.resolve()))
    os.environ.pop("CAREPATH_DATA_DIR", None)

    from sklearn.metrics import roc_auc_score

    from data.settings import get_settings
    from data.store import ensure_dataset
    from ml.features import LABEL, model_inputs, usable_features
    from ml.risk.calibration import PlattCalibrator
    from ml.risk.drop_in import handle_drop_in
    from ml.risk.models import MODEL_NAMES, TrainingConfig, build
    from ml.risk.oracle import oracle_risk
    from ml.sampling import sample_patients
    from ml.risk.training import fit_weighted, grouped_folds
    from ml.workspace import AnalyticWorkspace

    settings = get_settings()
    dataset = ensure_dataset(settings, log=lambda m: None)
    rows = AnalyticWorkspace.of(dataset, cache_dir=settings.cache_dir).training_rows
    config = TrainingConfig(random_state=args.seed)
    features = usable_features(rows).used
    X, y = model_inputs(rows, features), rows[LABEL].to_numpy()
    ids = rows["patient_id"].astype(str).to_numpy()
    started = time.perf_counter()
    _, fold = grouped_folds(y, ids, config)
    drop_in = handle_drop_in(rows, dataset, fold, features, config.random_state, True, log=lambda m: None)
    weight = drop_in.weight
    weighting_seconds = time.perf_counter() - started
    truth = oracle_risk(rows, dataset)

    patients = pd.unique(ids)
    rng = np.random.default_rng(args.seed + 1)
    held_out = pd.Series(ids).isin(rng.choice(patients, len(patients) // 5, replace=False)).to_numpy()
    day0 = (rows["waited_days"] == 0).to_numpy()
    test, test0 = held_out, held_out & day0
    pool = np.flatnonzero(~held_out)
    result = {"patients": int(dataset.patients.shape[0]), "rows": int(len(rows)), "held_out_rows": int(test.sum()),
              "held_out_decision_points": int(test0.sum()), "weighting_seconds": round(weighting_seconds, 1),
              "oracle_roc_auc": float(roc_auc_score(y[test], truth[test])),
              "oracle_roc_auc_decision_day": float(roc_auc_score(y[test0], truth[test0])), "caps": []}
    print(json.dumps({k: v for k, v in result.items() if k != "caps"}), flush=True)
    for cap in args.caps:
        sample = sample_patients(ids[pool], cap or None, config.random_state)
        chosen = pool[sample.keep]
        # A tenth of the sample's patients is kept apart to fit the Platt scaling out of sample.
        sample_ids = pd.unique(ids[chosen])
        calibration_ids = np.random.default_rng(args.seed + 2).choice(sample_ids, len(sample_ids) // 10,
                                                                      replace=False)
        calibrate = pd.Series(ids[chosen]).isin(calibration_ids).to_numpy()
        fit_rows, calibration_rows = chosen[~calibrate], chosen[calibrate]
        entry = {"cap": cap or None, "rows": int(len(chosen)), "patients": int(len(sample_ids))}
        for name in MODEL_NAMES:
            begun = time.perf_counter()
            model = fit_weighted(build(name, config, features), X.iloc[fit_rows], y[fit_rows], weight[fit_rows])
            seconds = time.perf_counter() - begun
            raw_calibration = model.predict_proba(X.iloc[calibration_rows])[:, 1]
            calibrator = PlattCalibrator.fit(raw_calibration, y[calibration_rows], weight[calibration_rows])
            risk = calibrator.transform(model.predict_proba(X.iloc[np.flatnonzero(test)])[:, 1])
            risk0 = risk[day0[test]]
            entry[name] = {"fit_seconds": round(seconds, 1), "roc_auc": float(roc_auc_score(y[test], risk)),
                           "roc_auc_decision_day": float(roc_auc_score(y[test0], risk0)),
                           "mean_abs_vs_truth": float(np.abs(risk - truth[test]).mean()),
                           "mean_abs_vs_truth_decision_day": float(np.abs(risk0 - truth[test0]).mean())}
        result["caps"].append(entry)
        print(json.dumps(entry), flush=True)
    out = ROOT / "bench" / "results" / f"training-sample-{result['patients']}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
