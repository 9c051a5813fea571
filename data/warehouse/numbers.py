"""What the Overview and Pathways pages show for a cohort, and the pandas reference that
computes it from the filtered cohort frame (data.cohorts): every engine must return the same."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from data.cohorts import (CohortKpis, breakdown, cohort_kpis, funnel_counts, monthly_trend, sankey_flows,
                          stage_durations)
from data.journeys import MILESTONE_DAYS
from data.pathway import DEFAULT_PATHWAY, Pathway

HIGH_RISK_TIER = "High"  # the risk_tier value the Overview's high-risk KPI counts
BREAKDOWN_BY = ("site", "payer")


@dataclass(frozen=True)
class OverviewNumbers:
    kpis: CohortKpis
    funnel: pd.DataFrame  # data.cohorts.funnel_counts
    trend: pd.DataFrame  # data.cohorts.monthly_trend
    high_risk: int  # patients whose risk tier is High
    milestone_n: int  # patients with a days_to_milestone (the median's n, for suppression)

    @property
    def patients(self) -> int:
        return self.kpis.patients


@dataclass(frozen=True)
class PathwaysNumbers:
    patients: int
    flows: pd.DataFrame  # data.cohorts.sankey_flows
    durations: pd.DataFrame  # data.cohorts.stage_durations
    breakdowns: dict  # BREAKDOWN_BY column -> data.cohorts.breakdown


def overview_numbers(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> OverviewNumbers:
    """The reference: the Overview's numbers from a filtered cohort frame."""
    return OverviewNumbers(
        kpis=cohort_kpis(frame, pathway), funnel=funnel_counts(frame, pathway), trend=monthly_trend(frame, pathway),
        high_risk=int((frame["risk_tier"] == HIGH_RISK_TIER).sum()) if "risk_tier" in frame.columns else 0,
        milestone_n=int(frame[MILESTONE_DAYS].notna().sum()))


def pathways_numbers(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> PathwaysNumbers:
    """The reference: the Pathways page's numbers from a filtered cohort frame."""
    return PathwaysNumbers(
        patients=len(frame), flows=sankey_flows(frame, pathway), durations=stage_durations(frame, pathway),
        breakdowns={by: breakdown(frame, by, pathway) for by in BREAKDOWN_BY})
