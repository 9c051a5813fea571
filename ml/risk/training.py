"""Train, evaluate and explain both dropout-risk models; score the in-progress patients.

Evaluation is honest by construction: grouped K-fold (all rows of a patient in one
fold, stratified by outcome), calibration cross-fitted on the other folds, and a
temporal hold-out trained only on labels that were already final at the cut-off.

The risk learned is the risk if no one calls (ml.drop_in): rows of decision points
that a logged call reached are censored, and the others carry inverse probability of
censoring weights, in every fit (folds, calibration, hold-out, the final models).
"""
from __future__ import annotations

import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from data.io import Dataset
from data.readiness import booking_features_unusable, model_blockers
from ml.risk import evaluation as ev
from ml.risk.calibration import PlattCalibrator, calibration_measures, cross_fitted_calibration
from ml.risk.decision_analysis import capacity_table, decision_curve, threshold_table
from ml.risk.drivers import driver_table, risk_tier
from ml.risk.drop_in import handle_drop_in
from ml.risk.folds import stratified_group_folds
from ml.risk.explain import grouped_permutation_importance, logistic_coefficients, reference_row, shapley_contributions
from ml.features import BOOKING_FEATURES, FEATURES, LABEL, model_inputs, sampled_out_patients, usable_features
from ml.risk.models import MODEL_NAMES, SELF_THREADED, TrainingConfig, build
from ml.monitor import assess as assess_drift
from ml.monitor import history as monitoring_history
from ml.risk.oracle import oracle_risk
from ml.workspace import AnalyticWorkspace

Log = Callable[[str], None]


class ModelUnavailable(ValueError):
    """The data cannot support a model; the message says why, naming the rule and its threshold."""


# The columns of ModelBundle.scores and their dtypes, so that "nobody in progress" is an
# empty frame of the usual shape (sorting and nlargest need numeric risks), not one without columns.
_DATE, _NUMBER, _TEXT = "datetime64[ns]", "float64", "object"
SCORE_COLUMNS = {
    "rank": "int64", "patient_id": _TEXT, "program": _TEXT, "awaiting_stage": _TEXT, "decision_date": _DATE,
    "decision_site": _TEXT, "booked_date": _DATE, "window_closes": _DATE, "waited_days": _NUMBER,
    "days_until_appointment": _NUMBER, "lead_days": _NUMBER, "stage_name": _TEXT,
    **{f"risk_{name}": _NUMBER for name in MODEL_NAMES}, "risk": _NUMBER, "risk_tier": _TEXT,
    "reference_risk": _NUMBER, "drivers": _TEXT, "top_drivers": _TEXT,
    # The benefit model's expected gain in P(completing the pathway) from a call today and the
    # spread of its cross-fitted models; missing (NaN) without an outreach log (report: benefit.reason).
    "expected_gain": _NUMBER, "expected_gain_low": _NUMBER, "expected_gain_high": _NUMBER,
}


@dataclass
class ModelBundle:
    """Everything the app and the CLIs need; saved and loaded by ml.registry."""
    key: str
    config: TrainingConfig
    pipelines: dict
    calibrators: dict
    primary: str
    reference: pd.DataFrame
    report: dict
    scores: pd.DataFrame
    contributions: pd.DataFrame
    features: tuple = FEATURES  # the features both models were trained on (usable_features)
    benefit: object = None  # ml.targeting.benefit.BenefitModel, or None without an outreach log

    def risk(self, rows: pd.DataFrame, model: str | None = None) -> np.ndarray:
        """Calibrated probability of dropping out before completing the pathway."""
        name = model or self.primary
        raw = self.pipelines[name].predict_proba(model_inputs(rows, self.features))[:, 1]
        return self.calibrators[name].transform(raw)


def _empty_scores() -> pd.DataFrame:
    """The scores of nobody, with the columns and dtypes of real scores."""
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in SCORE_COLUMNS.items()})


def grouped_folds(y: np.ndarray, groups: np.ndarray, config: TrainingConfig) -> tuple[list, np.ndarray]:
    """Stratified K folds that keep every row of a patient in one fold; also the fold of each row."""
    splits = stratified_group_folds(y, groups, config.n_folds, config.random_state)
    fold = np.empty(len(y), dtype=int)
    for k, (_, test) in enumerate(splits):
        fold[test] = k
    return splits, fold


def fit_weighted(pipeline, X, y, weight: np.ndarray | None = None):
    """Fit on the rows of positive weight, with those weights (None: every row, unweighted).
    Both pipelines name their estimator step "model"."""
    if weight is None:
        return pipeline.fit(X, y)
    kept = weight > 0
    return pipeline.fit(X[kept], y[kept], model__sample_weight=weight[kept])


def _fit_fold(pipeline, X, y, weight, train, test):
    model = fit_weighted(clone(pipeline), X.iloc[train], y[train], None if weight is None else weight[train])
    return model, model.predict_proba(X.iloc[test])[:, 1]


def cores_shared_by(jobs: int | None):
    """While ``jobs`` fits run side by side (joblib's threading backend), each one's OpenMP/BLAS
    pool gets its share of the cores, as loky gives its workers: threads that each start a pool
    of every core oversubscribe the machine (several times slower, bench/RESULTS.md). Only
    there: a fit on its own (final models, drop-in, benefit model) keeps every core."""
    cores = os.cpu_count() or 1
    parallel = cores if jobs is None or jobs < 0 else max(1, jobs)
    return threadpool_limits(limits=max(1, cores // parallel)) if parallel > 1 else nullcontext()


def _cross_validate(name, config, X, y, splits, log, weight=None):
    """Out-of-fold raw risks of every row (censored ones too: the model scores them all)."""
    started = time.perf_counter()
    jobs = 1 if name in SELF_THREADED or len(y) > config.parallel_folds_max_rows else config.n_jobs
    with cores_shared_by(jobs):
        results = Parallel(n_jobs=jobs)(
            delayed(_fit_fold)(build(name, config, X.columns), X, y, weight, train, test) for train, test in splits)
    raw = np.empty(len(y))
    for (train, test), (_, predictions) in zip(splits, results):
        raw[test] = predictions
    seconds = time.perf_counter() - started
    log(f"  {name}: {len(splits)}-fold grouped CV in {seconds:.1f} s")
    return raw, [model for model, _ in results], seconds


def _importance(fold_models, X, y, splits, seed, max_rows) -> list[dict]:
    """Permutation importance on (a sample of) the held-out rows of the first fold."""
    model, (_, test) = fold_models[0], splits[0]
    test = np.random.default_rng(seed).permutation(test)[:max_rows]
    importance = grouped_permutation_importance(lambda frame: model.predict_proba(frame)[:, 1],
                                                X.iloc[test], y[test], n_repeats=2, seed=seed)
    return [{"feature": f, "auc_drop": round(float(v), 5)} for f, v in importance.items()]


def temporal_split(rows: pd.DataFrame, holdout_share: float) -> tuple[pd.Timestamp, np.ndarray, np.ndarray]:
    """(cut-off, train mask, test mask): test on decisions from the cut-off on; train only on rows
    whose outcome was already known before it, as a model trained at the cut-off would have been."""
    cutoff = rows["decision_date"].quantile(1 - holdout_share)
    train = (rows["outcome_known_date"] < cutoff).to_numpy()
    test = (rows["decision_date"] >= cutoff).to_numpy()
    return cutoff, train, test


def _temporal_holdout(name, config, rows, X, y, weight=None) -> dict:
    """Train on decision points whose outcome was final by the cut-off; test on later ones.

    Reported on the raw model output: AUC needs no calibration, and the ECE shows how
    well the uncalibrated model transports forward in time. ``weight``: the drop-in IPC
    weights of the rows (None: every row once), for the fit only.
    """
    cutoff, train, test = temporal_split(rows, config.temporal_holdout_share)
    result = {"cutoff": str(pd.Timestamp(cutoff).date()), "train_rows": int(train.sum()),
              "test_rows": int(test.sum()), "roc_auc": None, "ece": None, "brier": None}
    if _one_outcome(y[train]) or _one_outcome(y[test]):
        # A short history leaves no outcome final before the cut-off (or only one kind):
        # the hold-out is reported as unavailable rather than failing the whole training.
        result["unavailable"] = ("too little history for a temporal hold-out: it needs both outcomes among the "
                                 f"decision points final before {result['cutoff']} and among those after it")
        return result
    train_weight = None if weight is None else weight[train]
    risk = fit_weighted(build(name, config, X.columns), X[train], y[train], train_weight).predict_proba(X[test])[:, 1]
    return result | {"roc_auc": float(roc_auc_score(y[test], risk)), "ece": ev.expected_calibration_error(y[test], risk),
                     "brier": float(np.mean((risk - y[test]) ** 2))}


def _one_outcome(y: np.ndarray) -> bool:
    return len(np.unique(y)) < 2


def _auc_or_none(y: np.ndarray, risk: np.ndarray) -> float | None:
    """ROC-AUC, or None when these rows hold only one outcome (or none)."""
    return None if _one_outcome(y) else float(roc_auc_score(y, risk))


def _model_report(name, raw, calibrated, y, rows, oracle, fold_models, X, splits, seconds, config, weight):
    metrics = ev.summary_metrics(y, calibrated, rows["patient_id"].to_numpy(), config.bootstrap_resamples)
    at_decision = (rows["waited_days"] == 0).to_numpy()
    metrics.update({
        "raw_ece": ev.expected_calibration_error(y, raw),
        "roc_auc_at_decision": _auc_or_none(y[at_decision], calibrated[at_decision]),
        "fit_seconds": round(seconds, 2),
        "roc_curve": ev.roc_points(y, calibrated),
        "calibration_curve": ev.calibration_table(y, calibrated).to_dict("list"),
        # The same bins against the no-call outcomes (uncalled rows, IPC-weighted), for the Model page.
        "calibration_curve_untreated": (None if weight is None
                                        else ev.calibration_table(y, calibrated, weight=weight).to_dict("list")),
        "subgroups": ev.subgroup_table(rows, y, calibrated),
        "permutation_importance": _importance(fold_models, X, y, splits, config.random_state, config.importance_rows),
        "temporal_holdout": _temporal_holdout(name, config, rows, X, y, weight),
        # Against every realised outcome, calls included: a risk-if-no-one-calls runs above it
        # where calls rescued patients (calibration_in_the_large < 0 by about their effect).
        "calibration": calibration_measures(y, calibrated),
        # Against the outcomes the risk is for: uncalled rows, IPC-weighted for the censored ones
        # (None when calls were not adjusted for: then the risk is the realised one, `calibration`).
        "calibration_untreated": None if weight is None else calibration_measures(y, calibrated, weight),
        "calibration_raw": {k: v for k, v in calibration_measures(y, raw).items() if k != "smoothed_curve"},
    })
    horizon = ev.horizon_metrics(rows, y, calibrated, oracle, config.bootstrap_resamples)
    metrics["decision_day"] = horizon["decision_day"]
    metrics["by_landmark"], metrics["by_stage"] = horizon["by_landmark"], horizon["by_stage"]
    at_decision = (rows["waited_days"] == 0).to_numpy()
    metrics["thresholds"] = threshold_table(y[at_decision], calibrated[at_decision])
    if oracle is not None:
        metrics["oracle_gap"] = float(roc_auc_score(y, oracle) - metrics["roc_auc"])
        metrics["oracle_calibration_error"] = ev.oracle_calibration_error(rows, calibrated, oracle)
    return metrics


def _decisions(rows, y, calibrated: dict, oracle) -> dict:
    """Decision curve and capacity table on the decision-day rows (one per decision point)."""
    day0 = (rows["waited_days"] == 0).to_numpy()
    risks = {name: risk[day0] for name, risk in calibrated.items()}
    if oracle is not None:
        risks["oracle"] = oracle[day0]
    return {"rows": int(day0.sum()), "decision_curve": decision_curve(y[day0], risks),
            "capacity": capacity_table(rows.loc[day0, "decision_date"], y[day0], risks)}


def _score_in_progress(bundle_parts, dataset, config, log) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(scores, contributions, scoring rows), all in the order of the scores (highest risk first)."""
    pipelines, calibrators, primary, reference = bundle_parts
    rows = AnalyticWorkspace.of(dataset).scoring_rows
    if rows.empty:  # nobody in progress at the as-of date
        return _empty_scores(), pd.DataFrame(columns=["patient_id", *reference.columns]), rows
    X = model_inputs(rows, reference.columns)

    def risk_of(name):
        return lambda frame: calibrators[name].transform(pipelines[name].predict_proba(frame)[:, 1])

    started = time.perf_counter()
    contributions = shapley_contributions(risk_of(primary), X, reference, config.explanation_permutations,
                                          config.random_state)
    log(f"  explained {len(rows):,} in-progress patients in {time.perf_counter() - started:.1f} s")
    scores = rows[["patient_id", "program", "awaiting_stage", "decision_date", "decision_site", "booked_date",
                   "window_closes", "waited_days", "days_until_appointment", "lead_days"]].copy()
    scores["stage_name"] = [dataset.pathway.stage_name(p, s) for p, s in zip(scores["program"], scores["awaiting_stage"])]
    for name in MODEL_NAMES:
        scores[f"risk_{name}"] = risk_of(name)(X)
    scores["risk"] = scores[f"risk_{primary}"]
    scores["risk_tier"] = risk_tier(scores["risk"].to_numpy())
    scores["reference_risk"] = float(risk_of(primary)(reference)[0])
    drivers = driver_table(rows, contributions, pathway=dataset.pathway)
    scores["drivers"] = drivers
    scores["top_drivers"] = ["; ".join(d["text"] for d in ds) for ds in drivers]
    order = np.argsort(-scores["risk"].to_numpy(), kind="stable")
    scores = scores.iloc[order].reset_index(drop=True)
    contributions = contributions.iloc[order].reset_index(drop=True)
    contributions.insert(0, "patient_id", scores["patient_id"].to_numpy())
    scores.insert(0, "rank", np.arange(1, len(scores) + 1))
    return scores, contributions, rows.iloc[order].reset_index(drop=True)


def train_models(dataset: Dataset, config: TrainingConfig | None = None, key: str = "",
                 log: Log = print) -> ModelBundle:
    config = config or TrainingConfig()
    started = time.perf_counter()
    log("building decision-point rows ...")
    # Derived once per dataset (and kept in the cache folder); above the cap only the sampled
    # patients' rows are built (ml.sampling).
    rows, sample = AnalyticWorkspace.of(dataset).training_sample(config.max_training_rows, config.random_state)
    labelled_points = rows.drop_duplicates(["patient_id", "decision_date"])
    # What the data supports is judged on the rows the models learn from.
    blockers = model_blockers(dataset, labelled_points)
    if blockers:
        raise ModelUnavailable(" ".join(blockers))
    features = usable_features(rows)
    booking_problem = booking_features_unusable(labelled_points)
    if booking_problem:
        features = features.without(BOOKING_FEATURES, booking_problem)
    for feature, reason in features.dropped.items():
        log(f"  left out {feature}: {reason}")
    log(f"  {sample.of_rows:,} labelled landmark rows of {sample.of_patients:,} patients")
    left_out = None
    if sample.sampled:
        left_out = sampled_out_patients(AnalyticWorkspace.of(dataset).decision_points, sample)
        log(f"  trained and evaluated on a random sample of {sample.patients:,} patients ({sample.rows:,} rows, "
            f"{len(labelled_points):,} decision points; cap {sample.max_rows:,} rows)")
    # The benefit model learns from the outreach log alone: it fits on a thread of its own beside
    # the risk models (whose fits leave a core idle much of the time) and is joined for scoring.
    benefit_fit = _fit_benefit_beside(dataset, log)
    X, y = model_inputs(rows, features.used), rows[LABEL].to_numpy()
    groups = rows["patient_id"].to_numpy()
    n_points = int(len(labelled_points))
    splits, fold = grouped_folds(y, groups, config)
    drop_in = handle_drop_in(rows, dataset, fold, features.used, config.random_state, config.handle_drop_in, log,
                             left_out=left_out)
    # None: every row counts once (no outreach log, the handling off, or its fallback).
    weight = drop_in.weight if drop_in.report["handled"] else None
    if weight is not None:
        log(f"  drop-in: {drop_in.report['censored_decision_points']:,} called decision points censored, "
            f"the rest IPC-weighted (max {drop_in.report['weight_max']:.1f})")
    oracle = oracle_risk(rows, dataset)
    if oracle is not None and not np.isfinite(oracle).all():
        oracle = None  # the yardstick needs every input it was simulated with (e.g. the booked lead time)

    pipelines, calibrators, models, fit_seconds, held_out = {}, {}, {}, 0.0, {}
    for name in MODEL_NAMES:
        raw, fold_models, seconds = _cross_validate(name, config, X, y, splits, log, weight)
        fit_seconds += seconds
        reported = time.perf_counter()
        calibrated = cross_fitted_calibration(raw, y, fold, weight)
        held_out[name] = calibrated
        models[name] = _model_report(name, raw, calibrated, y, rows, oracle, fold_models, X, splits, seconds,
                                     config, weight)
        calibrators[name] = PlattCalibrator.fit(raw, y, weight)
        final = time.perf_counter()
        pipelines[name] = fit_weighted(build(name, config, features.used), X, y, weight)
        log(f"  {name}: ROC-AUC {models[name]['roc_auc']:.3f}, ECE {models[name]['ece']:.3f}; calibration and "
            f"report (hold-out refit included) {final - reported:.1f} s, final fit {time.perf_counter() - final:.1f} s")
    primary = max(MODEL_NAMES, key=lambda n: models[n]["roc_auc"])
    models["logistic_regression"]["coefficients"] = (
        logistic_coefficients(pipelines["logistic_regression"]).round(4).to_dict("records"))
    reference = reference_row(X)
    del X  # the feature copy of every training row (1.1M at 1M patients) is not needed past here
    scores, contributions, score_rows = _score_in_progress((pipelines, calibrators, primary, reference), dataset,
                                                           config, log)
    benefit, benefit_report = _add_expected_gain(scores, score_rows, dataset, benefit_fit.result(),
                                                 pipelines[primary], calibrators[primary], features.used, log)
    report = {
        "as_of": str(dataset.as_of.date()),
        "n_decision_points": n_points,
        "n_rows": int(len(rows)),
        "n_patients": int(len(set(groups))),
        # The rows above are the training sample's (ml.sampling): "sampled" False = every row.
        "training_sample": sample.as_report(),
        "observed_dropout_rate": float(y.mean()),
        "oracle_roc_auc": None if oracle is None else float(roc_auc_score(y, oracle)),
        "oracle_roc_auc_at_decision": None if oracle is None else float(
            roc_auc_score(y[rows["waited_days"] == 0], oracle[(rows["waited_days"] == 0).to_numpy()])),
        "fit_seconds": round(fit_seconds, 2),
        "total_seconds": round(time.perf_counter() - started, 2),
        "primary_model": primary,
        "n_scored": int(len(scores)),
        "config": config.to_dict(),
        "features": features.as_report(),
        "subgroups_skipped": ev.skipped_subgroup_attributes(rows),
        "oracle": {"decision_day_roc_auc": None if oracle is None else models[primary]["decision_day"]["oracle_roc_auc"],
                   "roc_auc": None if oracle is None else float(roc_auc_score(y, oracle))},
        "models": models,
        "decisions": _decisions(rows, y, held_out, oracle),
        "monitoring": monitoring_history(rows, y, held_out[primary], features.used, weight),
        "benefit": benefit_report,
        "drop_in": drop_in.report,
    }
    # Today's in-progress patients against the training window, for the Model page (ml.monitor
    # recomputes it for any later data under the same models).
    report["monitoring"]["current"] = assess_drift(report["monitoring"], score_rows, scores["risk"].to_numpy(),
                                                   models[primary]["roc_auc"])
    return ModelBundle(key, config, pipelines, calibrators, primary, reference, report, scores, contributions,
                       features.used, benefit)


def _fit_benefit_beside(dataset: Dataset, log: Log) -> Future:
    """Start fitting the benefit model (ml.targeting.train.fit_benefit) on a thread of its own; its
    OpenMP pool is one thread, as the risk models' fits hold the cores beside it (libgomp's
    limit is per thread: the main thread's fits keep theirs). The fit shares the workspace's
    tables, whose derivation is locked."""
    from ml.targeting.train import fit_benefit

    def fit():
        with threadpool_limits(limits=1, user_api="openmp"):
            return fit_benefit(dataset, log=log)

    executor = ThreadPoolExecutor(1, thread_name_prefix="benefit-model")
    try:
        return executor.submit(fit)
    finally:
        executor.shutdown(wait=False)  # the thread ends with its fit


def _add_expected_gain(scores, score_rows, dataset, fitted, pipeline, calibrator, features, log):
    """Fill the scores' expected gain from the fitted benefit model (when the dataset logs outreach)
    and return (model or None, the report's benefit section)."""
    from ml.targeting.train import finish_benefit, policy_table

    def risk(rows):
        return calibrator.transform(pipeline.predict_proba(model_inputs(rows, features))[:, 1])

    benefit, section, (gain, low, high) = finish_benefit(fitted, score_rows, risk)
    scores["expected_gain"], scores["expected_gain_low"], scores["expected_gain_high"] = gain, low, high
    if benefit is None:
        log(f"  no benefit model: {section['reason']}")
    else:
        section["policy_value"] = policy_table(scores, dataset)
    return benefit, section
