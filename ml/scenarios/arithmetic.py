"""Stage-conversion arithmetic: the what-if projection every analyst can redo by hand.

Observed conversion at each booked stage (decision points whose window has closed),
chained with the share of diagnoses that confirm the condition.  A wait cut acts
through a per-stage logistic fit of 'the stage happened' on the booked lead time;
more first-visit attendance through the share of missed first bookings never made up;
outreach cuts the chained dropout of each contacted patient's pending stage.  It
averages over patients: docs/scenarios.md says where that biases it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from data.pathway import DECISION_STAGES
from ml.scenarios.pathway_chain import made_up_share, shortened_lead
from ml.scenarios.levers import ScenarioLevers

FUNNEL_STEPS = ("Positive screen", "Diagnosed", "Confirmed", "Treated", "Followed up")
# The decision-row columns stage_conversion_arithmetic reads.
ARITHMETIC_COLUMNS = ["awaiting_stage", "next_stage_date", "booked_date", "lead_days"]


def wait_elasticity(resolved: pd.DataFrame) -> dict:
    """Per stage: (intercept, slope) of a logistic fit of 'the stage happened' on the booked lead
    time, over decision points whose window has closed; no slope (waits change nothing) for a
    stage without both outcomes."""
    fits = {}
    booked = resolved[resolved["lead_days"].notna()]
    for stage in DECISION_STAGES:
        sub = booked[booked["awaiting_stage"] == stage]
        attended = sub["next_stage_date"].notna().to_numpy()
        if len(np.unique(attended)) < 2:
            fits[stage] = (0.0, 0.0)
            continue
        model = LogisticRegression().fit(sub[["lead_days"]].to_numpy(float), attended)
        fits[stage] = (float(model.intercept_[0]), float(model.coef_[0, 0]))
    return fits


def _chained_dropout(conversion: dict, confirmed_share: float, start: str) -> float:
    """P(dropping out somewhere from `start` on) when each stage converts as given."""
    reach, drop = 1.0, 0.0
    for stage in DECISION_STAGES[DECISION_STAGES.index(start):]:
        drop += reach * (1 - conversion[stage])
        reach *= conversion[stage] * (confirmed_share if stage == "diagnosis" else 1.0)
    return drop


def _expected_funnel(n_base, conversion, confirmed_share, n_scenario, projected) -> list[dict]:
    """Expected patients at each step per the arithmetic, baseline and scenario."""
    def steps(n, c):
        diagnosed = n * c["diagnosis"]
        confirmed = diagnosed * confirmed_share
        treated = confirmed * c["treatment"]
        return [n, diagnosed, confirmed, treated, treated * c["follow_up"]]

    return [{"step": step, "baseline": float(b), "scenario": float(sc)}
            for step, b, sc in zip(FUNNEL_STEPS, steps(n_base, conversion), steps(n_scenario, projected))]


def stage_conversion_arithmetic(levers: ScenarioLevers, resolved: pd.DataFrame, n_patients: int,
                                contacted_stages, extra_positives: float, fits: dict, confirmed_share: float,
                                lead_floor: float) -> dict:
    """Project the levers for `n_patients` with a positive screen; `resolved` holds the cohort's
    decision points whose window has closed, `contacted_stages` the stage each contacted
    patient awaits."""
    made_up = made_up_share(resolved, ["awaiting_stage"]).to_dict() if len(resolved) else {}
    conversion, projected = {}, {}
    for stage in DECISION_STAGES:
        sub = resolved[resolved["awaiting_stage"] == stage]
        base = float(sub["next_stage_date"].notna().mean()) if len(sub) else 0.0
        a, b = fits[stage]
        cut = levers.wait_cut_pct.get(stage, 0.0)
        lead = sub["lead_days"].dropna().to_numpy(float)
        wait_gain = float(np.mean(expit(a + b * shortened_lead(lead, cut, lead_floor)) - expit(a + b * lead))) \
            if len(lead) and cut else 0.0
        first_visit_gain = levers.attendance_pp.get(stage, 0.0) * (1 - made_up.get(stage, 0.0))
        conversion[stage] = base
        projected[stage] = float(np.clip(base + wait_gain + first_visit_gain, 0, 1))
    base_adherence = 1 - _chained_dropout(conversion, confirmed_share, "diagnosis")
    scenario_adherence = 1 - _chained_dropout(projected, confirmed_share, "diagnosis")
    outreach = levers.outreach_effectiveness * sum(_chained_dropout(projected, confirmed_share, stage)
                                                   for stage in contacted_stages)
    extra = n_patients * (scenario_adherence - base_adherence) + outreach
    return {"conversion": conversion, "projected_conversion": projected, "chain_adherence": base_adherence,
            "funnel": _expected_funnel(n_patients, conversion, confirmed_share, n_patients + extra_positives,
                                       projected),
            "extra_non_dropouts": float(extra),
            "outreach_extra": float(outreach),
            "completion_rate_change": float(extra / n_patients) if n_patients else 0.0,
            "decision_points_used": int(len(resolved))}
