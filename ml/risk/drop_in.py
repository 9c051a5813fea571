"""Treatment drop-in: learn the dropout risk *if no one calls*, from a history in which some were called.

The risk the worklist ranks on is the risk of a patient nobody has called yet (and the
synthetic ground truth is exactly that). The labelled history, though, holds navigator
calls (the outreach log: the pilot, later the team's own worklist calls), and a call
rescues some patients, so a naive fit learns a risk lowered by calls: "treatment
drop-in" (Sperrin et al., Stat Med 2018;37:4142-54). Handled as they propose, with
inverse probability of censoring weights (IPCW):

* A decision point is *censored* at its patient's first logged call from the decision
  on (any stage: the label is dropout from the whole pathway, and a call on a later
  stage changes it too). Its untreated outcome is never seen, so none of its landmark
  rows enters the fit: rows after the call are treated, and rows before it carry the
  treated outcome.
* An uncalled row stands in for the censored rows like it: its weight is
  1 / P(no call from its landmark to the end of its follow-up | what was known at each
  sweep), the product over the weekly sweeps its patient waited through of
  1 / (1 - hazard). The hazard (P(called in a sweep's week | waiting, not called yet)) is
  a call-propensity model fitted on the log alone, never on the outcome, and cross-fitted
  over the same patient folds as the risk model. It may use the sweep's calendar day and
  how many sweeps already passed the patient over, because calls followed programmes and
  staff rules in time; those are inputs of the propensity model only, never of the risk
  model (a call is post-landmark).

Without an outreach log nothing is censored and every weight is 1.

The weights are only as good as the call-propensity model. When the data cannot support
them (too few logged calls to learn who was called, or weights so uneven that the
effective sample falls below a fifth of the uncalled rows, the sign that the features do
not show why patients were called: e.g. without booking dates the staff rule "called
when 14 days past the booked date" is invisible and a few rows stand for dozens), the
handling falls back to the unweighted fit on every row, says so in the log, and reports
``handled: False, fallback: True`` with the reason (report.json ``drop_in``, model card).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from ml.category_codes import CategoryCodes
from ml.features import CATEGORICAL_FEATURES
from ml.workspace import AnalyticWorkspace

# Inputs of the call-propensity model besides the risk model's features: days since the
# log's first sweep (programmes start and stop) and sweeps this decision point already
# waited through uncalled (a pilot randomised each patient at their first sweep).
SWEEP_CALENDAR, SWEEPS_PASSED = "sweep_calendar_day", "sweeps_passed"
# A hazard this close to 1 would make one row stand for hundreds; propensities are clipped
# so that one sweep at most multiplies a weight by 1 / (1 - MAX_HAZARD).
MAX_HAZARD = 0.9
# Trust checks (see the module docstring). The propensity model's leaves hold >= 100 sweep
# rows, so with fewer calls it cannot single out whom staff called.
MIN_LOGGED_CALLS = 100
# Kish effective sample / uncalled rows: 0.82 on the default data, 0.28 on 3,000 patients (seed 11)
# with booking dates; on them without booking dates 0.07 (largest weight 108), where the weighted
# fit ranked worse than chance.
MIN_EFFECTIVE_SHARE = 0.2


@dataclass
class DropInHandling:
    """Which training rows are untreated through their follow-up, and their IPC weights."""
    uncensored: np.ndarray  # bool per training row
    weight: np.ndarray  # per training row; 0 for censored rows, mean 1 over the uncensored
    report: dict = field(default_factory=dict)

    @classmethod
    def none(cls, n_rows: int, reason: str) -> "DropInHandling":
        return cls(np.ones(n_rows, bool), np.ones(n_rows), {"handled": False, "fallback": False, "reason": reason})


def effective_rows(weight: np.ndarray) -> float:
    """Kish's effective sample size of the rows of positive weight: (sum w)^2 / sum w^2."""
    weight = np.asarray(weight, float)
    return float(weight.sum() ** 2 / (weight ** 2).sum()) if weight.any() else 0.0


def untrusted_reason(uncensored: np.ndarray, weight: np.ndarray, logged_calls: int) -> str | None:
    """Why these censoring weights cannot be trusted (None: they can)."""
    if logged_calls < MIN_LOGGED_CALLS:
        return (f"too few logged calls to model who was called ({logged_calls:,}; the drop-in handling needs "
                f"at least {MIN_LOGGED_CALLS})")
    uncalled = int(np.count_nonzero(uncensored))
    effective = effective_rows(weight[uncensored])
    if uncalled == 0 or effective < MIN_EFFECTIVE_SHARE * uncalled:
        return (f"the inverse-probability-of-call weights are too uneven (effective sample {effective:,.0f} of "
                f"{uncalled:,} uncalled rows, below {MIN_EFFECTIVE_SHARE:.0%}; largest weight "
                f"{float(weight.max()) if len(weight) else 0.0:.0f}): the data's features do not show why patients "
                "were called")
    return None


def first_call_in_follow_up(rows: pd.DataFrame, calls: pd.DataFrame) -> np.ndarray:
    """Per training row, the first logged call of its patient from its decision date to its
    outcome date (NaT if none): the day its decision point stops being untreated."""
    points = rows[["patient_id", "decision_date", "outcome_known_date"]].drop_duplicates(
        ["patient_id", "decision_date"]).astype({"patient_id": str})
    matched = points.merge(calls[["patient_id", "date"]], on="patient_id", how="inner")
    matched = matched[(matched["date"] >= matched["decision_date"]) & (matched["date"] <= matched["outcome_known_date"])]
    first = matched.groupby(["patient_id", "decision_date"], as_index=False)["date"].min()
    keyed = rows[["patient_id", "decision_date"]].astype({"patient_id": str}).merge(
        first, on=["patient_id", "decision_date"], how="left")
    return keyed["date"].to_numpy("datetime64[ns]")


def uncalled_weights(rows: pd.DataFrame, sweeps: pd.DataFrame) -> np.ndarray:
    """Per training row, 1 / P(no call from its landmark to its outcome date): the product of
    1 / (1 - hazard) over the sweeps (rows: patient_id, decision_date, sweep_day, hazard) of
    its patient's decision points from its own on, dated in [landmark date, outcome date]."""
    keyed = rows[["patient_id", "decision_date", "landmark_date", "outcome_known_date"]].astype(
        {"patient_id": str}).reset_index(drop=True).reset_index(names="_row")
    sweeps = sweeps[["patient_id", "decision_date", "sweep_day", "hazard"]].astype({"patient_id": str})
    matched = keyed.merge(sweeps, on="patient_id", how="inner", suffixes=("", "_sweep"))
    matched = matched[(matched["decision_date_sweep"] >= matched["decision_date"])
                      & (matched["sweep_day"] >= matched["landmark_date"])
                      & (matched["sweep_day"] <= matched["outcome_known_date"])]
    log_survival = np.log1p(-np.clip(matched["hazard"].to_numpy(float), 0.0, MAX_HAZARD))
    total = np.zeros(len(keyed))
    np.add.at(total, matched["_row"].to_numpy(), log_survival)
    return np.exp(-total)


def _propensity_model(features, random_state: int) -> Pipeline:
    categorical = [f for f in features if f in CATEGORICAL_FEATURES]
    numeric = [f for f in features if f not in categorical]
    preprocess = ColumnTransformer([
        ("numeric", "passthrough", numeric),
        ("categorical", CategoryCodes(), categorical)])
    model = HistGradientBoostingClassifier(learning_rate=0.1, max_iter=150, max_leaf_nodes=8, min_samples_leaf=100,
                                           l2_regularization=1.0, early_stopping=False,
                                           categorical_features=[False] * len(numeric) + [True] * len(categorical),
                                           random_state=random_state)
    return Pipeline([("preprocess", preprocess), ("model", model)])


def call_hazards(sweeps: pd.DataFrame, treated: np.ndarray, features, patient_fold: dict,
                 random_state: int = 0) -> np.ndarray:
    """P(called in the sweep's week) for each sweep row, cross-fitted: a patient's rows are
    predicted by a model fitted on the other folds' patients (and on patients with no
    training rows). Only the log (who was called when) is learned, never the outcome."""
    X = sweeps.loc[:, list(features)]
    fold = sweeps["patient_id"].astype(str).map(patient_fold).fillna(-1).to_numpy(int)
    hazard = np.zeros(len(sweeps))
    for k in np.unique(fold[fold >= 0]):
        train, test = fold != k, fold == k
        if len(np.unique(treated[train])) < 2:
            hazard[test] = treated[train].mean() if train.any() else 0.0
            continue
        model = _propensity_model(features, random_state).fit(X[train], treated[train])
        hazard[test] = model.predict_proba(X[test])[:, 1]
    return hazard


def censoring_weights(rows: pd.DataFrame, calls: pd.DataFrame, sweeps: pd.DataFrame, treated: np.ndarray,
                      features, fold: np.ndarray, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(uncensored, weight) of the training ``rows`` given the logged ``calls`` (patient_id, date)
    and the ``sweeps`` (one row per decision point and sweep day while waiting and not called
    before, as ml.targeting.rows.pilot_rows builds them; ``treated``: called that week)."""
    uncensored = np.isnat(first_call_in_follow_up(rows, calls))
    weight = np.ones(len(rows))
    if len(sweeps):
        # In time order within each decision point, so that cumcount counts the sweeps passed.
        sweeps = sweeps.assign(_treated=np.asarray(treated, int)).sort_values(
            ["patient_id", "decision_date", "sweep_day"], kind="stable").reset_index(drop=True)
        treated = sweeps["_treated"].to_numpy()
        sweeps = sweeps.assign(**{
            SWEEP_CALENDAR: (sweeps["sweep_day"] - sweeps["sweep_day"].min()).dt.days.astype(float),
            SWEEPS_PASSED: sweeps.groupby(["patient_id", "decision_date"]).cumcount().astype(float)})
        propensity_features = [f for f in features if f in sweeps.columns] + [SWEEP_CALENDAR, SWEEPS_PASSED]
        patient_fold = dict(zip(rows["patient_id"].astype(str), fold))
        sweeps["hazard"] = call_hazards(sweeps, treated, propensity_features, patient_fold, random_state)
        weight = uncalled_weights(rows, sweeps)
    weight = np.where(uncensored, weight, 0.0)
    if uncensored.any():
        weight = weight / weight[uncensored].mean()
    return uncensored, weight


def handle_drop_in(rows: pd.DataFrame, dataset, fold: np.ndarray, features, random_state: int = 0,
                   enabled: bool = True, log=print, check_trust: bool = True,
                   left_out=None) -> DropInHandling:
    """Censoring and IPC weights of the training ``rows`` (AnalyticWorkspace.training_rows) from the
    dataset's outreach log; ``fold`` is each row's cross-fitting fold (patients whole). Falls back to
    every row unweighted, with a log line and ``fallback: True``, when the weights cannot be trusted
    (``untrusted_reason``; ``check_trust=False`` only to measure what the check prevents).
    ``left_out``: patients whose labelled rows the training sample dropped (ml.sampling): their
    sweeps are left out of the call-propensity model too, as if they were not in the history."""
    from ml.targeting.rows import TREATED, logged_calls, pilot_rows

    outreach = getattr(dataset, "outreach", None)
    if not enabled:
        return DropInHandling.none(len(rows), "switched off in the training config")
    if outreach is None or len(outreach) == 0:
        return DropInHandling.none(len(rows), "no outreach log: nobody in the history was called")
    calls = logged_calls(outreach, source=None)  # every call changes the outcome, whoever made it
    step = (dataset.manifest.get("params") or {}).get("pilot_sweep_days", 7)
    # Every source, not only the pilot's (the workspace's pilot_rows table is the pilot's own):
    # the decision points come from the workspace, never derived a second time.
    points = AnalyticWorkspace.of(dataset).decision_points
    if left_out is not None and len(left_out):
        points = points[~points["patient_id"].astype(str).isin(pd.Index(left_out).astype(str))]
    sweeps = pilot_rows(dataset.patients, dataset.events, outreach, dataset.as_of, dataset.pathway, source=None,
                        step_days=step, points=points)
    treated = sweeps[TREATED].to_numpy(int)
    uncensored, weight = censoring_weights(rows, calls, sweeps, treated, features, fold, random_state)
    points = rows.drop_duplicates(["patient_id", "decision_date"]).index
    report = {
        "handled": True,
        "fallback": False,
        "method": "censored at the first logged call from the decision on; uncalled rows weighted by "
                  "1 / P(no call to the outcome date) from a cross-fitted call-propensity model (IPCW)",
        "logged_calls": int(treated.sum()),
        "censored_rows": int((~uncensored).sum()),
        "censored_decision_points": int((~uncensored[points]).sum()),
        "weight_max": float(weight.max()) if len(weight) else 0.0,
        "weight_p99": float(np.quantile(weight[uncensored], 0.99)) if uncensored.any() else 0.0,
        "effective_rows": effective_rows(weight),
    }
    reason = untrusted_reason(uncensored, weight, report["logged_calls"]) if check_trust else None
    if reason:
        log(f"  drop-in handling not applied, every row unweighted: {reason}")
        # The diagnostics stay in the report: they are why the fallback happened.
        return DropInHandling(np.ones(len(rows), bool), np.ones(len(rows)),
                              report | {"handled": False, "fallback": True, "reason": reason})
    return DropInHandling(uncensored, weight, report)
