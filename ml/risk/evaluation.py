"""Model evaluation: discrimination, calibration, curves and subgroup tables.

Every metric here is computed on held-out predictions; confidence intervals come
from a bootstrap over *patients* (all rows of one patient resampled together), so
repeated landmark rows do not make the interval look narrower than it is.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import logit
from scipy.stats import rankdata
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve

from ml.risk.calibration import calibration_measures

CALIBRATION_BINS = 10
SUBGROUP_COLUMNS = ("sex", "race_ethnicity", "payer", "age_band", "program", "site")
MIN_SUBGROUP_ROWS = 50


def expected_calibration_error(outcome: np.ndarray, risk: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Row-weighted mean |observed − predicted| over equal-count bins of predicted risk."""
    table = calibration_table(outcome, risk, bins)
    return float((table["rows"] * (table["observed"] - table["predicted"]).abs()).sum() / table["rows"].sum())


def calibration_table(outcome: np.ndarray, risk: np.ndarray, bins: int = CALIBRATION_BINS,
                      weight: np.ndarray | None = None) -> pd.DataFrame:
    """Mean predicted and observed rate in ``bins`` equal-size bins of risk. With ``weight``
    (ml.risk.drop_in's IPC weights) only the rows of positive weight are binned and both means
    are weighted: the outcomes of the uncalled, standing for everyone; ``rows`` counts rows."""
    frame = pd.DataFrame({"y": np.asarray(outcome, float), "p": np.asarray(risk, float),
                          "w": np.ones(len(outcome)) if weight is None else np.asarray(weight, float)})
    frame = frame[frame["w"] > 0]
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False)
    frame["wy"], frame["wp"] = frame["w"] * frame["y"], frame["w"] * frame["p"]
    sums = frame.groupby("bin").agg(wy=("wy", "sum"), wp=("wp", "sum"), w=("w", "sum"), rows=("y", "size"))
    return pd.DataFrame({"predicted": sums["wp"] / sums["w"], "observed": sums["wy"] / sums["w"],
                         "rows": sums["rows"]}).reset_index(drop=True)


def calibration_slope_intercept(outcome: np.ndarray, risk: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the logistic recalibration of outcome on logit(risk); ideal (1, 0)."""
    x = logit(np.clip(risk, 1e-6, 1 - 1e-6)).reshape(-1, 1)
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(x, outcome)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def fast_auc(outcome: np.ndarray, risk: np.ndarray) -> float:
    """ROC-AUC from the rank-sum (Mann-Whitney) identity; ties get average ranks."""
    ranks = rankdata(risk)
    positives = outcome.astype(bool)
    n_pos = positives.sum()
    n_neg = len(outcome) - n_pos
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def bootstrap_auc_ci(outcome: np.ndarray, risk: np.ndarray, groups: np.ndarray, resamples: int,
                     seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of ROC-AUC, resampling whole patients.

    A resample is held as how many times each row was drawn (its patient's draw count), and
    its AUC is the Mann-Whitney statistic of those counts over the distinct risk values (a
    tie counts one half), in integers: the same number as ranking the concatenated resample,
    without building it. At 1M patients building and ranking each resample took seconds;
    this is one pass over the rows, sorted once by risk.
    """
    codes, uniques = pd.factorize(groups)
    order = np.argsort(np.asarray(risk), kind="stable")
    codes, positive, risk = codes[order], np.asarray(outcome).astype(bool)[order], np.asarray(risk)[order]
    # Where each run of equal risks starts: a resample's positives and negatives are summed per run.
    starts = np.flatnonzero(np.r_[True, risk[1:] != risk[:-1]]) if len(risk) else np.zeros(0, int)
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(resamples):
        picked = rng.integers(0, len(uniques), len(uniques))
        times = np.bincount(picked, minlength=len(uniques))[codes]
        positives_of_row = np.where(positive, times, 0)
        positives = np.add.reduceat(positives_of_row, starts)
        negatives = np.add.reduceat(times - positives_of_row, starts)
        n_pos, n_neg = int(positives.sum()), int(negatives.sum())
        if n_pos > 0 and n_neg > 0:
            # Each positive beats the negatives of lower risk and ties with half of its own run's.
            wins_twice = int((positives * (2 * np.cumsum(negatives) - negatives)).sum())
            aucs.append(wins_twice / (2 * n_pos * n_neg))
    if not aucs:  # every resample held one outcome only: no interval to give
        return float("nan"), float("nan")
    low, high = np.percentile(aucs, [2.5, 97.5])
    return float(low), float(high)


def summary_metrics(outcome: np.ndarray, risk: np.ndarray, groups: np.ndarray, resamples: int) -> dict:
    slope, intercept = calibration_slope_intercept(outcome, risk)
    return {
        "roc_auc": float(roc_auc_score(outcome, risk)),
        "roc_auc_ci": list(bootstrap_auc_ci(outcome, risk, groups, resamples)),
        "pr_auc": float(average_precision_score(outcome, risk)),
        "brier": float(brier_score_loss(outcome, risk)),
        "ece": expected_calibration_error(outcome, risk),
        "calibration_slope": slope,
        "calibration_intercept": intercept,
        "mean_predicted": float(np.mean(risk)),
        "observed_rate": float(np.mean(outcome)),
        "rows": int(len(outcome)),
    }


def roc_points(outcome: np.ndarray, risk: np.ndarray, max_points: int = 200) -> dict:
    fpr, tpr, _ = roc_curve(outcome, risk)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(max_points, len(fpr))).astype(int))
    return {"fpr": fpr[keep].round(4).tolist(), "tpr": tpr[keep].round(4).tolist()}


# The group of rows whose attribute is missing: shown as such, never merged into a group.
NOT_RECORDED_GROUP = "not recorded"


def _recorded_values(rows: pd.DataFrame, column: str) -> pd.Series:
    if column not in rows.columns:
        return pd.Series(dtype=object)
    return rows[column].dropna()


def skipped_subgroup_attributes(rows: pd.DataFrame) -> list[dict]:
    """Audit attributes with fewer than two recorded values: no comparison between groups exists."""
    skipped = []
    for column in SUBGROUP_COLUMNS:
        recorded = _recorded_values(rows, column)
        if recorded.empty:
            skipped.append({"attribute": column, "reason": "not recorded"})
        elif recorded.nunique() < 2:
            skipped.append({"attribute": column, "reason": "one value only"})
    return skipped


def subgroup_table(rows: pd.DataFrame, outcome: np.ndarray, risk: np.ndarray) -> list[dict]:
    """ROC-AUC and calibration-in-the-large per subgroup (groups under 50 rows are skipped,
    and so are attributes with fewer than two recorded values: see skipped_subgroup_attributes)."""
    records = []
    skipped = {s["attribute"] for s in skipped_subgroup_attributes(rows)}
    for column in SUBGROUP_COLUMNS:
        if column in skipped:
            continue
        values = rows[column].astype(object).where(rows[column].notna(), NOT_RECORDED_GROUP).astype(str).to_numpy()
        for value in sorted(set(values)):
            mask = values == value
            y, p = outcome[mask], risk[mask]
            if mask.sum() < MIN_SUBGROUP_ROWS or y.min() == y.max():
                continue
            records.append({
                "attribute": column, "group": value, "rows": int(mask.sum()),
                "roc_auc": float(roc_auc_score(y, p)), "observed_rate": float(y.mean()),
                "mean_predicted": float(p.mean()), "calibration_gap": float(p.mean() - y.mean()),
                "ece": expected_calibration_error(y, p, bins=5),
                "ici": calibration_measures(y, p)["ici"],
            })
    return records


# --- By horizon: the decision day first ------------------------------------------------------

def _auc(outcome: np.ndarray, risk: np.ndarray) -> float | None:
    return None if len(outcome) == 0 or outcome.min() == outcome.max() else float(roc_auc_score(outcome, risk))


def horizon_metrics(rows: pd.DataFrame, outcome: np.ndarray, risk: np.ndarray, oracle: np.ndarray | None,
                    resamples: int) -> dict:
    """ROC-AUC on the decision day (with its patient-bootstrap CI), then by landmark and by stage.

    The pooled figure mixes landmark rows (days 0, 7, ... 150) whose difficulty differs: later
    landmarks are easier, for the oracle too, so the pooled AUC moves with the landmark grid.
    The decision day, where a coordinator first scores a patient, does not.
    """
    waited = rows["waited_days"].to_numpy()
    day0 = waited == 0
    groups = rows["patient_id"].to_numpy()
    y0, p0 = outcome[day0], risk[day0]
    decision_day = {
        "rows": int(day0.sum()),
        "roc_auc": _auc(y0, p0),
        "roc_auc_ci": list(bootstrap_auc_ci(y0, p0, groups[day0], resamples)) if _auc(y0, p0) is not None
        else [float("nan"), float("nan")],
        "oracle_roc_auc": None if oracle is None else _auc(y0, oracle[day0]),
        "observed_rate": float(y0.mean()) if day0.any() else None,
    }
    by_landmark = []
    for day in np.unique(waited):
        mask = waited == day
        by_landmark.append({"waited_days": int(day), "rows": int(mask.sum()),
                            "observed_rate": float(outcome[mask].mean()),
                            "roc_auc": _auc(outcome[mask], risk[mask]),
                            "oracle_roc_auc": None if oracle is None else _auc(outcome[mask], oracle[mask])})
    by_stage = []
    stages = rows["awaiting_stage"].astype(str).to_numpy()
    for stage in pd.unique(stages[day0]):
        mask = day0 & (stages == stage)
        by_stage.append({"awaiting_stage": str(stage), "rows": int(mask.sum()),
                         "observed_rate": float(outcome[mask].mean()),
                         "roc_auc": _auc(outcome[mask], risk[mask]),
                         "oracle_roc_auc": None if oracle is None else _auc(outcome[mask], oracle[mask])})
    return {"decision_day": decision_day, "by_landmark": by_landmark, "by_stage": by_stage}


# --- Against the truth: the generator's probability (synthetic data only) ---------------------

ORACLE_CALIBRATION_BINS = 10
MIN_ORACLE_SUBGROUP_ROWS = 500


def _binned_truth_error(risk: np.ndarray, truth: np.ndarray, bins: int) -> tuple[float, pd.DataFrame]:
    """Row-weighted mean |mean predicted − mean true probability| over equal-count bins of predicted risk."""
    bins = max(1, min(bins, len(risk) // 20))
    frame = pd.DataFrame({"predicted": risk, "true": truth})
    frame["bin"] = pd.qcut(frame["predicted"].rank(method="first"), bins, labels=False)
    table = frame.groupby("bin").agg(predicted=("predicted", "mean"), true=("true", "mean"),
                                     rows=("true", "size")).reset_index(drop=True)
    error = float((table["rows"] * (table["predicted"] - table["true"]).abs()).sum() / table["rows"].sum())
    return error, table


def oracle_calibration_error(rows: pd.DataFrame, risk: np.ndarray, truth: np.ndarray,
                             bins: int = ORACLE_CALIBRATION_BINS) -> dict:
    """Calibration measured against the true probability instead of 0/1 outcomes: no sampling noise.

    ``binned`` (predicted vs true mean in equal-count bins of predicted risk) is the calibration
    error proper; ``mean_abs`` (mean |p̂ − p_true| row by row) adds the model's ranking error and
    is the stricter figure; ``bias`` is mean p̂ − mean p_true. Subgroups with at least
    MIN_ORACLE_SUBGROUP_ROWS rows are listed with the same three numbers.
    """
    risk, truth = np.asarray(risk, float), np.asarray(truth, float)
    binned, table = _binned_truth_error(risk, truth, bins)
    result = {"rows": int(len(risk)), "mean_abs": float(np.abs(risk - truth).mean()), "binned": binned,
              "bias": float(risk.mean() - truth.mean()),
              "bins": table.round(4).to_dict("list"), "by_subgroup": []}
    for column in SUBGROUP_COLUMNS:
        if column not in rows.columns:
            continue
        values = rows[column].astype(object).where(rows[column].notna(), NOT_RECORDED_GROUP).astype(str).to_numpy()
        for value in sorted(set(values)):
            mask = values == value
            if mask.sum() < MIN_ORACLE_SUBGROUP_ROWS:
                continue
            result["by_subgroup"].append({
                "attribute": column, "group": value, "rows": int(mask.sum()),
                "mean_abs": float(np.abs(risk[mask] - truth[mask]).mean()),
                "binned": _binned_truth_error(risk[mask], truth[mask], 5)[0],
                "bias": float(risk[mask].mean() - truth[mask].mean()),
            })
    worst = max(result["by_subgroup"], key=lambda r: r["binned"], default=None)
    result["worst_subgroup"] = None if worst is None else {k: worst[k] for k in ("attribute", "group", "rows",
                                                                                  "binned", "bias")}
    return result
