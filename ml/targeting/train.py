"""Train the benefit model from the dataset's outreach log and report it, beside the risk models.

No log (user data without an ``outreach`` table), or too few calls in it, means no
benefit model: the report says why and ``expected_gain`` stays missing (NaN).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from ml.sampling import sample_patients
from ml.targeting import evaluation as tev
from ml.targeting.benefit import BenefitConfig, BenefitModel, ContinuationModel, StageUpliftModel, continuation_rates
from ml.targeting.rows import (OUTCOME, REACHED, REBOOKED, SWEEP_DAYS, TARGETING_FEATURES, TREATED, WRONG_NUMBER,
                               targeting_scoring_rows, unexposed_rows)
from ml.workspace import AnalyticWorkspace

MIN_CALLED_ROWS = 100
MIN_UNCALLED_ROWS = 100
# Fewer landmark rows untouched by outreach than this: P(done without a call) from the uncalled log rows.
MIN_UNEXPOSED_ROWS = 2000
CAPACITIES = (25, 100)
LEARNER_LABELS = {"disposition": "rebooking learner (P(rebooked) × P(not done otherwise))", "x": "X-learner",
                  "dr": "DR-learner"}
NO_LOG = ("the dataset has no outreach log (table 'outreach'), so there is no record of whom calls helped "
          "to learn from")


def _unavailable(reason: str) -> dict:
    return {"available": False, "reason": reason}


def true_call_gain(scores: pd.DataFrame, dataset) -> np.ndarray | None:
    """The generator's exact gain from a call on the as-of date, aligned with ``scores``
    (synthetic data only; a yardstick, never a feature)."""
    truth = dataset.ground_truth
    if truth is None or "true_call_gain" not in truth.columns:
        return None
    table = pd.DataFrame({"patient_id": truth["patient_id"].astype(str).to_numpy(),
                          "awaiting_stage": truth["decision_stage"].astype(str).to_numpy(),
                          "decision_date": pd.to_datetime(truth["decision_date"]).to_numpy("datetime64[ns]"),
                          "true_call_gain": truth["true_call_gain"].to_numpy(float)})
    keys = pd.DataFrame({"patient_id": scores["patient_id"].astype(str).to_numpy(),
                         "awaiting_stage": scores["awaiting_stage"].astype(str).to_numpy(),
                         "decision_date": pd.to_datetime(scores["decision_date"]).to_numpy("datetime64[ns]")})
    gain = keys.merge(table.drop_duplicates(["patient_id", "awaiting_stage", "decision_date"]),
                      on=["patient_id", "awaiting_stage", "decision_date"], how="left")["true_call_gain"]
    return gain.to_numpy(float)


def rankings_of(scores: pd.DataFrame) -> dict:
    """The rankings compared: by expected gain, by risk, by deadline (soonest window close first), random."""
    days_left = (pd.to_datetime(scores["window_closes"]) - pd.to_datetime(scores["decision_date"])).dt.days \
        - scores["waited_days"]
    return {"benefit": (scores["expected_gain"].to_numpy(float), False),
            "risk": (scores["risk"].to_numpy(float), False),
            "deadline": (days_left.to_numpy(float), True),
            "random": None}


def policy_table(scores: pd.DataFrame, dataset, capacities=CAPACITIES, resamples: int = tev.RESAMPLES) -> dict | None:
    """Policy value of each ranking on the ground truth; None without one."""
    gain = true_call_gain(scores, dataset)
    if gain is None or not len(scores) or scores["expected_gain"].isna().all():
        return None
    known = np.isfinite(gain)
    sub = scores[known].reset_index(drop=True)  # keeps the risk order: ties break by risk
    return {"capacities": list(capacities), "patients": int(known.sum()),
            "true_gain_total": float(gain[known].sum()),
            "rankings": tev.ranking_table(rankings_of(sub), gain[known], capacities, resamples)}


@dataclass
class BenefitFit:
    """The benefit model fitted on the outreach log (or None, with the report section saying why),
    before it scores anyone: ``finish_benefit`` adds the gains of the waiting patients and the risk
    ranking's Qini, which need the risk model. Split so that the fit can run beside the risk models'
    training (ml.risk.training), which it does not depend on."""
    model: BenefitModel | None
    section: dict
    rows: pd.DataFrame | None = None  # the logged rows the model learned from (for the risk ranking's Qini)


def fit_benefit(dataset, config: BenefitConfig | None = None, log=print) -> BenefitFit:
    """Fit the benefit model from the dataset's outreach log (the report section without the risk ranking)."""
    config = config or BenefitConfig()
    outreach = getattr(dataset, "outreach", None)
    if outreach is None or len(outreach) == 0:
        return BenefitFit(None, _unavailable(NO_LOG))
    started = time.perf_counter()
    step = (dataset.manifest.get("params") or {}).get("pilot_sweep_days", SWEEP_DAYS)
    rows = AnalyticWorkspace.of(dataset).pilot_rows(outreach, step)
    logged = sample_patients(rows["patient_id"], config.max_logged_rows, config.random_state)
    if logged.sampled:
        rows = rows[logged.keep].reset_index(drop=True)
    t, y = rows[TREATED].to_numpy(int), rows[OUTCOME].to_numpy(int)
    if t.sum() < MIN_CALLED_ROWS or (1 - t).sum() < MIN_UNCALLED_ROWS:
        return BenefitFit(None, _unavailable(
            f"the outreach log gives {int(t.sum())} called and {int((1 - t).sum())} uncalled waiting decision points "
            f"whose outcome is final; the benefit model needs at least {MIN_CALLED_ROWS} of each"))
    features = tuple(f for f in TARGETING_FEATURES if f in rows.columns and rows[f].notna().any()
                     and rows[f].nunique() > 1)
    # Only what the model of P(done without a call) reads is kept: at 1M patients these are ~1.5M
    # landmark rows, and with every column they were the peak of a first start's memory.
    untreated = unexposed_rows(dataset.patients, dataset.events, outreach, dataset.as_of, dataset.pathway,
                               points=AnalyticWorkspace.of(dataset).decision_points,
                               max_rows=config.max_untreated_rows, seed=config.random_state)
    untouched = untreated.attrs["sample"]
    untreated = untreated[[*features, OUTCOME]]
    if len(untreated) < MIN_UNEXPOSED_ROWS or untreated[OUTCOME].nunique() < 2:
        log(f"  benefit model: only {len(untreated):,} landmark rows untouched by outreach; P(done without a call) "
            f"is learned from the logged rows nobody called")
        untreated = None
    stage = StageUpliftModel.fit(rows, t, y, rows["patient_id"].to_numpy(), features, config,
                                 rebooked=rows[REBOOKED].to_numpy(int), reached=rows[REACHED].to_numpy(int),
                                 wrong=rows[WRONG_NUMBER].to_numpy(int), untreated_rows=untreated,
                                 untreated_outcome=None if untreated is None else untreated[OUTCOME])
    decision_rows = AnalyticWorkspace.of(dataset).decision_day_rows
    model = BenefitModel(stage, continuation_rates(decision_rows),
                         ContinuationModel.fit(decision_rows, features, config))
    order = tev.order_by(stage.out_of_fold)
    section = {
        "available": True, "learner": LEARNER_LABELS[config.learner],
        "config": config.to_dict(), "features": list(features),
        "outcome": "the awaited stage done within its window (stage uplift), times the chance of not dropping "
                   "out afterwards",
        "training_rows": int(len(rows)), "called_rows": int(t.sum()),
        "untreated_rows": int(len(untreated)) if untreated is not None else 0,
        "untreated_source": ("landmark rows of decision points no outreach touched" if untreated is not None
                             else "logged rows nobody called that week"),
        "patients": int(rows["patient_id"].nunique()), "sweeps": int(rows["sweep_day"].nunique()),
        "training_sample": {"logged": logged.as_report(), "untreated": untouched},
        "stage_done_rate": {"called": float(y[t == 1].mean()), "not_called": float(y[t == 0].mean())},
        "estimated_stage_uplift": float(stage.pseudo.mean()),
        "propensity_range": [float(stage.propensity.min()), float(stage.propensity.max())],
        "qini_coefficient": {"benefit": tev.qini_coefficient(order, stage.pseudo)},
        "continuation": model.continuation,
        "continuation_model": model.continuation_model is not None,
    }
    section["fit_seconds"] = round(time.perf_counter() - started, 2)
    log(f"  benefit model ({section['learner']}): {len(rows):,} logged rows, {int(t.sum()):,} called, "
        f"in {section['fit_seconds']:.1f} s")
    return BenefitFit(model, section, rows)


def finish_benefit(fit: BenefitFit, scoring: pd.DataFrame, risk: Callable[[pd.DataFrame], np.ndarray] | None = None):
    """(model or None, report section, (gain, low, high) for the ``scoring`` rows) of a fitted benefit model;
    ``risk``: the risk model, whose ranking's Qini on the same log the section then shows beside the model's."""
    if fit.model is None:
        return None, fit.section, tuple(np.full(len(scoring), np.nan) for _ in range(3))
    section = {**fit.section, "qini_coefficient": dict(fit.section["qini_coefficient"])}
    if risk is not None:
        section["qini_coefficient"]["risk"] = tev.qini_coefficient(tev.order_by(risk(fit.rows)),
                                                                   fit.model.stage.pseudo)
    return fit.model, section, fit.model.expected_gain(targeting_scoring_rows(scoring))


def train_benefit(dataset, scoring: pd.DataFrame, risk: Callable[[pd.DataFrame], np.ndarray] | None = None,
                  config: BenefitConfig | None = None, log=print):
    """(model or None, report section, (gain, low, high) for the ``scoring`` rows): fit, then finish."""
    return finish_benefit(fit_benefit(dataset, config, log), scoring, risk)
