"""Stage-conversion arithmetic: the what-if projection every analyst can redo by hand.

Observed conversion at each booked stage (decision points whose window has closed),
chained with the share of diagnoses that confirm the condition.  A wait cut acts
through a per-stage logistic fit of 'the stage happened' on the booked lead time;
more first-visit attendance through the share of missed first bookings never made up;
outreach cuts the chained dropout of each contacted patient's pending stage.  It
averages over patients: docs/scenarios.md says where that biases it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from data.pathway import DECISION_STAGES
from ml.scenarios.pathway_chain import shortened_lead
from ml.scenarios.levers import ScenarioLevers

FUNNEL_STEPS = ("Positive screen", "Diagnosed", "Confirmed", "Treated", "Followed up")
# The decision-row columns ClosedDecisions reads.
ARITHMETIC_COLUMNS = ["awaiting_stage", "next_stage_date", "booked_date", "lead_days"]


@dataclass(frozen=True)
class StageRecord:
    """A cohort's closed decision points at one booked stage: how many, how many attended it, how
    many missed their first booking and how many of those made it up within the window
    (``pathway_chain.made_up_share``), and the booked leads (days; missing ones left out)."""
    decisions: int
    attended: int
    missed_first: int
    made_up: int
    leads: np.ndarray


class ClosedDecisions:
    """Closed decision points (ARITHMETIC_COLUMNS), split by stage once, with each row's patient
    position; a cohort's StageRecords are then counts under a mask over the patients, instead of
    filtering the frame on every slider move (0.1 s at 1M patients)."""

    def __init__(self, resolved: pd.DataFrame, patient: np.ndarray | None = None):
        patient = np.zeros(len(resolved), np.int64) if patient is None else np.asarray(patient)
        attended = resolved["next_stage_date"].notna()
        late = attended & (resolved["next_stage_date"] > resolved["booked_date"])
        missed_first = late | ~attended
        self.patient = patient
        self.by_stage = {}
        for stage in DECISION_STAGES:
            here = (resolved["awaiting_stage"] == stage).to_numpy()
            self.by_stage[stage] = (patient[here], attended.to_numpy()[here], missed_first.to_numpy()[here],
                                    late.to_numpy()[here], resolved["lead_days"].to_numpy(float)[here])

    def records(self, member: np.ndarray | None = None) -> tuple[dict, int]:
        """({stage: StageRecord}, decision points) of the rows whose patient is in ``member`` (a
        boolean mask over patient positions; every row when None)."""
        records = {}
        for stage, (patient, attended, missed_first, late, lead) in self.by_stage.items():
            keep = np.ones(len(patient), bool) if member is None else member[patient]
            missed = missed_first & keep
            leads = lead[keep]
            records[stage] = StageRecord(int(np.count_nonzero(keep)), int(np.count_nonzero(attended & keep)),
                                         int(np.count_nonzero(missed)), int(np.count_nonzero(late & missed)),
                                         leads[~np.isnan(leads)])
        used = len(self.patient) if member is None else int(np.count_nonzero(member[self.patient]))
        return records, used


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


def stage_conversion_arithmetic(levers: ScenarioLevers, resolved: pd.DataFrame | tuple, n_patients: int,
                                contacted_stages, extra_positives: float, fits: dict, confirmed_share: float,
                                lead_floor: float) -> dict:
    """Project the levers for `n_patients` with a positive screen; `resolved` holds the cohort's
    decision points whose window has closed (a frame, or ``ClosedDecisions.records``),
    `contacted_stages` the stage each contacted patient awaits."""
    records, decisions_used = ClosedDecisions(resolved).records() if isinstance(resolved, pd.DataFrame) \
        else resolved
    conversion, projected = {}, {}
    for stage in DECISION_STAGES:
        record = records[stage]
        base = record.attended / record.decisions if record.decisions else 0.0
        a, b = fits[stage]
        cut = levers.wait_cut_pct.get(stage, 0.0)
        lead = record.leads
        wait_gain = float(np.mean(expit(a + b * shortened_lead(lead, cut, lead_floor)) - expit(a + b * lead))) \
            if len(lead) and cut else 0.0
        made_up = record.made_up / record.missed_first if record.missed_first else 0.0
        first_visit_gain = levers.attendance_pp.get(stage, 0.0) * (1 - made_up)
        conversion[stage] = base
        projected[stage] = float(np.clip(base + wait_gain + first_visit_gain, 0, 1))
    base_adherence = 1 - _chained_dropout(conversion, confirmed_share, "diagnosis")
    scenario_adherence = 1 - _chained_dropout(projected, confirmed_share, "diagnosis")
    # One term per contacted patient, added in their order (the sum is the same to the last bit).
    dropout_from = {stage: _chained_dropout(projected, confirmed_share, stage) for stage in DECISION_STAGES}
    outreach = levers.outreach_effectiveness * sum(map(dropout_from.__getitem__, contacted_stages))
    extra = n_patients * (scenario_adherence - base_adherence) + outreach
    return {"conversion": conversion, "projected_conversion": projected, "chain_adherence": base_adherence,
            "funnel": _expected_funnel(n_patients, conversion, confirmed_share, n_patients + extra_positives,
                                       projected),
            "extra_non_dropouts": float(extra),
            "outreach_extra": float(outreach),
            "completion_rate_change": float(extra / n_patients) if n_patients else 0.0,
            "decision_points_used": int(decisions_used)}
