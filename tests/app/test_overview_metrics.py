"""Overview aggregates on a hand-made 10-patient cohort with known answers."""
import math

import pandas as pd
import pytest

from callbacks.overview_metrics import funnel_counts, monthly_trend, overview_kpis

NaT = pd.NaT


def _patient(pid, status, screen=None, screen_result=None, diagnosis=None, diagnosis_result=None,
             treatment=None, follow_up=None, enrolled="2025-01-10", days_to_treatment=math.nan):
    return {
        "patient_id": pid, "program": "colorectal", "status": status,
        "enrollment_date": pd.Timestamp(enrolled),
        "screening_date": pd.Timestamp(screen) if screen else NaT,
        "screening_result": screen_result,
        "diagnosis_date": pd.Timestamp(diagnosis) if diagnosis else NaT,
        "diagnosis_result": diagnosis_result,
        "treatment_date": pd.Timestamp(treatment) if treatment else NaT,
        "follow_up_date": pd.Timestamp(follow_up) if follow_up else NaT,
        "days_positive_screen_to_treatment": days_to_treatment,
    }


@pytest.fixture
def ten_patients():
    rows = [
        # never screened: one dropped out, one still in its window
        _patient("p01", "dropped_out"),
        _patient("p02", "in_progress", enrolled="2025-03-02"),
        # negative screens: appropriate exits
        _patient("p03", "exited", "2025-01-20", "negative"),
        _patient("p04", "exited", "2025-01-25", "negative", enrolled="2025-02-01"),
        # positive screen, no diagnosis yet
        _patient("p05", "dropped_out", "2025-01-15", "positive"),
        # ruled out at diagnosis
        _patient("p06", "exited", "2025-01-15", "positive", "2025-02-01", "ruled_out"),
        # confirmed, awaiting treatment
        _patient("p07", "in_progress", "2025-01-15", "positive", "2025-02-01", "confirmed", enrolled="2025-02-20"),
        # treated, follow-up missed
        _patient("p08", "dropped_out", "2025-01-15", "positive", "2025-02-01", "confirmed", "2025-02-20",
                 days_to_treatment=36),
        # completed pathway
        _patient("p09", "completed", "2025-01-15", "positive", "2025-02-01", "confirmed", "2025-02-10",
                 "2025-04-05", days_to_treatment=26),
        _patient("p10", "completed", "2025-01-15", "positive", "2025-02-01", "confirmed", "2025-03-01",
                 "2025-04-20", days_to_treatment=45),
    ]
    return pd.DataFrame(rows)


def test_kpis(ten_patients):
    kpis = overview_kpis(ten_patients)
    assert kpis.patients == 10
    assert (kpis.completed, kpis.dropped_out, kpis.in_progress) == (2, 3, 2)
    # Exited and in-progress patients have no say in either rate.
    assert kpis.completion_rate == pytest.approx(2 / 5)
    assert kpis.dropout_rate == pytest.approx(3 / 5)
    assert kpis.median_days_positive_screen_to_treatment == 36


def test_kpis_without_decided_patients_have_no_rates(ten_patients):
    kpis = overview_kpis(ten_patients[ten_patients["status"] == "exited"])
    assert kpis.completion_rate is None and kpis.dropout_rate is None
    assert kpis.median_days_positive_screen_to_treatment is None


def test_funnel_counts(ten_patients):
    funnel = funnel_counts(ten_patients)
    assert list(funnel["step"]) == ["enrolled", "screened", "positive_screen", "diagnosed",
                                    "confirmed", "treated", "followed_up"]
    assert list(funnel["patients"]) == [10, 8, 6, 5, 4, 3, 2]
    assert list(funnel["drop_off"]) == [0, 2, 2, 1, 1, 1, 1]
    assert math.isnan(funnel["conversion"][0])
    assert list(funnel["conversion"][1:]) == pytest.approx([8 / 10, 6 / 8, 5 / 6, 4 / 5, 3 / 4, 2 / 3])
    assert list(funnel["share_of_enrolled"]) == pytest.approx([1, .8, .6, .5, .4, .3, .2])
    assert "appropriately" in funnel.set_index("step").loc["positive_screen", "drop_off_meaning"]


def test_funnel_never_widens_on_inconsistent_data(ten_patients):
    # A treatment recorded without a diagnosis must not make "treated" exceed "confirmed".
    odd = ten_patients.copy()
    odd.loc[odd["patient_id"] == "p01", "treatment_date"] = pd.Timestamp("2025-05-01")
    counts = list(funnel_counts(odd)["patients"])
    assert counts == sorted(counts, reverse=True)


def test_funnel_of_empty_cohort(ten_patients):
    funnel = funnel_counts(ten_patients.iloc[0:0])
    assert list(funnel["patients"]) == [0] * 7


def test_monthly_trend(ten_patients):
    trend = monthly_trend(ten_patients)
    assert list(trend["month"].dt.strftime("%Y-%m")) == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert list(trend["enrolled"]) == [7, 2, 1, 0]
    # Completions are dated by their last stage (follow-up in April for both).
    assert list(trend["completed"]) == [0, 0, 0, 2]
    assert trend["enrolled"].sum() == 10


def test_monthly_trend_of_empty_cohort(ten_patients):
    assert monthly_trend(ten_patients.iloc[0:0]).empty
