"""The risk-tier cohort filter: tiers select scored patients; unscored ones drop out."""
import pandas as pd

from callbacks import context
from data.cohort_filter import CohortFilter, apply_cohort, parse_query, to_query


def _frame():
    return pd.DataFrame({
        "patient_id": ["a", "b", "c", "d", "e"],
        "program": ["colorectal", "diabetes", "diabetes", "depression", "diabetes"],
        "risk": [0.81, 0.55, 0.12, float("nan"), 0.72],
        "risk_tier": ["High", "Medium", "Low", None, "High"],
    })


def _ids(frame):
    return list(frame["patient_id"])


def test_no_tier_keeps_everyone_scored_or_not():
    assert _ids(apply_cohort(_frame(), CohortFilter())) == ["a", "b", "c", "d", "e"]


def test_tiers_keep_matching_scored_patients_only():
    frame = _frame()
    assert _ids(apply_cohort(frame, parse_query("?risk=high"))) == ["a", "e"]
    assert _ids(apply_cohort(frame, parse_query("?risk=medium&risk=low"))) == ["b", "c"]
    # Every tier chosen still excludes the unscored patient (not awaiting a booked stage).
    assert _ids(apply_cohort(frame, parse_query("?risk=high&risk=medium&risk=low"))) == ["a", "b", "c", "e"]


def test_tiers_combine_with_other_filters():
    assert _ids(apply_cohort(_frame(), parse_query("?program=diabetes&risk=high"))) == ["e"]


def test_tier_query_is_canonical():
    assert to_query(parse_query("?risk=low&risk=HIGH&risk=high")) == "?risk=high&risk=low"


def test_app_cohort_frame_respects_tiers(app_data):
    everyone = context.cohort_frame("")
    high = context.cohort_frame("?risk=high")
    assert len(high) == int((everyone["risk_tier"] == "High").sum()) > 0
    assert set(high["risk_tier"]) == {"High"}
    scored = context.cohort_frame("?risk=high&risk=medium&risk=low")
    assert len(scored) == everyone["risk"].notna().sum() == len(app_data.risk_scores)
