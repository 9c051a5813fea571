"""Cohort metrics on a hand-made 12-patient journeys frame with known answers, and
their invariants on a generated population."""
import math

import pandas as pd
import pytest

from data.cohorts import (BOTTLENECK_DEFINITION, SANKEY_TERMINAL_STATUS, bottleneck, bottleneck_text, breakdown,
                          cohort_kpis, funnel_counts, monthly_trend, sankey_flows, stage_durations, stage_losses)
from data.journeys import STATUSES, derive_journeys

NaT = pd.NaT


def _days(later, earlier):
    return (later - earlier).days if later is not NaT and earlier is not NaT else math.nan


def _patient(pid, status, status_stage, screen=None, screen_result=None, diagnosis=None, diagnosis_result=None,
             treatment=None, follow_up=None, enrolled="2025-01-10", site="A", payer="Commercial"):
    """A journeys row; the days columns are derived from the dates as derive_journeys does."""
    enrolled = pd.Timestamp(enrolled)
    screen, diagnosis, treatment, follow_up = (pd.Timestamp(d) if d else NaT
                                               for d in (screen, diagnosis, treatment, follow_up))
    return {
        "patient_id": pid, "program": "colorectal", "status": status, "status_stage": status_stage,
        "enrollment_date": enrolled, "screening_date": screen, "screening_result": screen_result,
        "diagnosis_date": diagnosis, "diagnosis_result": diagnosis_result,
        "treatment_date": treatment, "follow_up_date": follow_up,
        "days_enrollment_to_screening": _days(screen, enrolled),
        "days_screening_to_diagnosis": _days(diagnosis, screen),
        "days_diagnosis_to_treatment": _days(treatment, diagnosis),
        "days_treatment_to_follow_up": _days(follow_up, treatment),
        "days_to_milestone": _days(treatment, screen) if screen_result == "positive" else math.nan,
        "site": site, "payer": payer,
    }


@pytest.fixture
def journeys():
    rows = [
        # never screened: one whose window closed (dropped out), one still inside it
        _patient("p01", "dropped_out", "screening", payer="Medicaid"),
        _patient("p02", "in_progress", "screening", enrolled="2025-03-02", site="B", payer="Uninsured"),
        # negative screens: appropriate exits
        _patient("p03", "exited", "screening", "2025-01-20", "negative"),
        _patient("p04", "exited", "screening", "2025-02-16", "negative", enrolled="2025-02-01", site="B"),
        # positive screen: no diagnosis (window closed) / still waiting for it
        _patient("p05", "dropped_out", "diagnosis", "2025-01-15", "positive", payer="Medicaid"),
        _patient("p11", "in_progress", "diagnosis", "2025-01-20", "positive", payer="Medicaid"),
        # ruled out at diagnosis
        _patient("p06", "exited", "diagnosis", "2025-01-15", "positive", "2025-02-01", "ruled_out", site="B"),
        # confirmed: awaiting treatment / never treated
        _patient("p07", "in_progress", "treatment", "2025-03-02", "positive", "2025-03-22", "confirmed",
                 enrolled="2025-02-20"),
        _patient("p12", "dropped_out", "treatment", "2025-01-15", "positive", "2025-02-01", "confirmed",
                 site="B", payer="Medicaid"),
        # treated, follow-up missed
        _patient("p08", "dropped_out", "follow_up", "2025-01-15", "positive", "2025-02-01", "confirmed",
                 "2025-02-20", site="B", payer="Medicaid"),
        # completed pathway
        _patient("p09", "completed", "follow_up", "2025-01-15", "positive", "2025-02-01", "confirmed",
                 "2025-02-10", "2025-04-05"),
        _patient("p10", "completed", "follow_up", "2025-01-15", "positive", "2025-02-01", "confirmed",
                 "2025-03-01", "2025-04-20", site="B"),
    ]
    return pd.DataFrame(rows)


# --- KPIs -------------------------------------------------------------------------

def test_kpis(journeys):
    kpis = cohort_kpis(journeys)
    assert kpis.patients == 12
    # Uptake: p02 is still inside the screening window, so only p01 counts against it.
    assert (kpis.screened, kpis.not_screened) == (10, 1)
    assert kpis.screening_uptake == pytest.approx(10 / 11)
    # Completion/dropout: completed (p09, p10) vs dropped out after a positive screen
    # (p05, p12, p08). p01 (never screened), exits and in-progress patients are not in it.
    assert (kpis.completed, kpis.dropped_out, kpis.exited, kpis.in_progress) == (2, 3, 3, 3)
    assert kpis.resolved_after_positive_screen == 5
    assert kpis.completion_rate == pytest.approx(2 / 5)
    assert kpis.dropout_rate == pytest.approx(3 / 5)
    assert kpis.median_days_to_milestone == 36  # p09 26, p08 36, p10 45


def test_kpi_patients_equal_the_first_funnel_bar(journeys):
    assert cohort_kpis(journeys).patients == funnel_counts(journeys)["patients"][0]
    assert cohort_kpis(journeys).screened == funnel_counts(journeys)["patients"][1]


def test_kpis_without_resolved_patients_have_no_rates(journeys):
    kpis = cohort_kpis(journeys[journeys["status"] == "exited"])
    assert kpis.completion_rate is None and kpis.dropout_rate is None
    assert kpis.screening_uptake == 1.0
    assert kpis.median_days_to_milestone is None
    empty = cohort_kpis(journeys.iloc[0:0])
    assert empty.patients == 0 and empty.screening_uptake is None


# --- Funnel and trend --------------------------------------------------------------

def test_funnel_counts(journeys):
    funnel = funnel_counts(journeys)
    assert list(funnel["step"]) == ["enrolled", "screening_done", "screening_led_on", "diagnosis_done",
                                    "diagnosis_led_on", "treatment_done", "follow_up_done"]
    assert list(funnel["patients"]) == [12, 10, 8, 6, 5, 3, 2]
    assert list(funnel["drop_off"]) == [0, 2, 2, 2, 1, 2, 1]
    assert math.isnan(funnel["conversion"][0])
    assert list(funnel["conversion"][1:]) == pytest.approx([10 / 12, 8 / 10, 6 / 8, 5 / 6, 3 / 5, 2 / 3])
    assert list(funnel["share_of_enrolled"]) == pytest.approx([c / 12 for c in (12, 10, 8, 6, 5, 3, 2)])
    assert "appropriately" in funnel.set_index("step").loc["screening_led_on", "drop_off_meaning"]


def test_funnel_never_widens_on_inconsistent_data(journeys):
    # A treatment recorded without a diagnosis must not make "treated" exceed "confirmed".
    odd = journeys.copy()
    odd.loc[odd["patient_id"] == "p01", "treatment_date"] = pd.Timestamp("2025-05-01")
    counts = list(funnel_counts(odd)["patients"])
    assert counts == sorted(counts, reverse=True)


def test_funnel_of_empty_cohort(journeys):
    assert list(funnel_counts(journeys.iloc[0:0])["patients"]) == [0] * 7


def test_monthly_trend(journeys):
    trend = monthly_trend(journeys)
    assert list(trend["month"].dt.strftime("%Y-%m")) == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert list(trend["enrolled"]) == [9, 2, 1, 0]
    # Completions are dated by their last stage (follow-up in April for both).
    assert list(trend["completed"]) == [0, 0, 0, 2]


def test_monthly_trend_of_empty_cohort(journeys):
    assert monthly_trend(journeys.iloc[0:0]).empty


# --- Sankey flows ------------------------------------------------------------------

def _flow(flows, source, target):
    (patients,) = flows.loc[(flows["source"] == source) & (flows["target"] == target), "patients"]
    return patients


def _assert_flows_add_up(flows, journeys):
    inflow = flows.groupby("target")["patients"].sum()
    outflow = flows.groupby("source")["patients"].sum()
    for node in set(inflow.index) & set(outflow.index):
        assert inflow[node] == outflow[node], node
    assert outflow["Enrolled"] == len(journeys)
    terminals = flows[flows["target"].isin(SANKEY_TERMINAL_STATUS)]
    assert set(terminals["target"]) == set(flows["target"]) - set(flows["source"])
    by_status = terminals.groupby("target_status")["patients"].sum()
    counts = journeys["status"].value_counts()
    for status in STATUSES:
        assert by_status.get(status, 0) == counts.get(status, 0), status


def test_sankey_flows_are_exact(journeys):
    flows = sankey_flows(journeys)
    assert list(flows.columns) == ["source", "target", "patients", "target_status"]
    expected = {
        ("Enrolled", "Screened"): 10, ("Enrolled", "Not screened (dropped out)"): 1,
        ("Enrolled", "Awaiting screening"): 1,
        ("Screened", "Positive screen"): 8, ("Screened", "Negative screen"): 2,
        ("Negative screen", "Exited after negative screen"): 2,
        ("Positive screen", "Diagnosed"): 6, ("Positive screen", "No diagnosis (dropped out)"): 1,
        ("Positive screen", "Awaiting diagnosis"): 1,
        ("Diagnosed", "Confirmed diagnosis"): 5, ("Diagnosed", "Ruled out"): 1,
        ("Ruled out", "Exited after ruled out"): 1,
        ("Confirmed diagnosis", "Treated"): 3, ("Confirmed diagnosis", "Not treated (dropped out)"): 1,
        ("Confirmed diagnosis", "Awaiting treatment"): 1,
        ("Treated", "Followed up (completed)"): 2, ("Treated", "No follow-up (dropped out)"): 1,
        ("Treated", "Awaiting follow-up"): 0,
    }
    assert {(s, t): p for s, t, p in zip(flows["source"], flows["target"], flows["patients"])} == expected
    _assert_flows_add_up(flows, journeys)
    # Inner nodes agree with the funnel.
    funnel = funnel_counts(journeys).set_index("step")["patients"]
    assert _flow(flows, "Enrolled", "Screened") == funnel["screening_done"]
    assert _flow(flows, "Screened", "Positive screen") == funnel["screening_led_on"]
    assert _flow(flows, "Positive screen", "Diagnosed") == funnel["diagnosis_done"]
    assert _flow(flows, "Diagnosed", "Confirmed diagnosis") == funnel["diagnosis_led_on"]
    assert _flow(flows, "Confirmed diagnosis", "Treated") == funnel["treatment_done"]
    assert _flow(flows, "Treated", "Followed up (completed)") == funnel["follow_up_done"]


def test_sankey_flows_of_empty_cohort_are_zero(journeys):
    flows = sankey_flows(journeys.iloc[0:0])
    assert len(flows) == 18 and flows["patients"].sum() == 0


def test_sankey_flows_refuse_impossible_journeys(journeys):
    odd = journeys.copy()
    odd.loc[0, "status_stage"] = "treatment"
    odd.loc[0, "status"] = "exited"
    with pytest.raises(ValueError, match="outside the pathway"):
        sankey_flows(odd)


def test_sankey_flows_add_up_on_a_generated_population(small_dataset):
    journeys = derive_journeys(small_dataset.patients, small_dataset.events, small_dataset.as_of)
    flows = sankey_flows(journeys)
    _assert_flows_add_up(flows, journeys)
    funnel = funnel_counts(journeys).set_index("step")["patients"]
    assert _flow(flows, "Positive screen", "Diagnosed") == funnel["diagnosis_done"]
    assert _flow(flows, "Treated", "Followed up (completed)") == funnel["follow_up_done"]


# --- Stage durations ---------------------------------------------------------------

def test_stage_durations(journeys):
    durations = stage_durations(journeys).set_index("step")
    assert list(durations["n"]) == [10, 6, 3, 2, 3]
    assert list(durations["median"]) == [5, 17, 19, 52, 36]
    # diagnosis -> treatment: 9, 19, 28 days
    assert durations.loc["days_diagnosis_to_treatment", ["p25", "p75"]].tolist() == [14, 23.5]
    assert durations.loc["days_to_milestone", ["p25", "p75"]].tolist() == [31, 40.5]


def test_stage_durations_of_empty_cohort(journeys):
    durations = stage_durations(journeys.iloc[0:0])
    assert (durations["n"] == 0).all() and durations["median"].isna().all()


# --- Bottleneck --------------------------------------------------------------------

def test_stage_losses(journeys):
    losses = stage_losses(sankey_flows(journeys)).set_index("stage")
    assert losses[["indicated", "got", "dropped_out", "in_progress", "resolved"]].to_dict("index") == {
        "screening": dict(indicated=12, got=10, dropped_out=1, in_progress=1, resolved=11),
        "diagnosis": dict(indicated=8, got=6, dropped_out=1, in_progress=1, resolved=7),
        "treatment": dict(indicated=5, got=3, dropped_out=1, in_progress=1, resolved=4),
        "follow_up": dict(indicated=3, got=2, dropped_out=1, in_progress=0, resolved=3),
    }
    assert list(losses["dropout_share"]) == pytest.approx([1 / 11, 1 / 7, 1 / 4, 1 / 3])
    assert not losses.loc["screening", "booked"]


def test_bottleneck_text(journeys):
    losses = stage_losses(sankey_flows(journeys))
    assert bottleneck(losses)["stage"] == "follow_up"
    text = bottleneck_text(losses, stage_durations(journeys))
    assert text == ("Biggest loss: follow-up after treatment — 33% of patients who needed it did not get it "
                    "(1 of 3 patients resolved); slowest step: treatment → follow-up, median 52 days.")
    assert "indicated and resolved" in BOTTLENECK_DEFINITION


def test_bottleneck_ignores_screening_and_in_progress_patients(journeys):
    # Two more never-screened dropouts make screening the worst stage, but it is not booked;
    # three more patients awaiting diagnosis do not dilute its share.
    more = pd.DataFrame([_patient(f"x{i}", "dropped_out", "screening") for i in range(5)]
                        + [_patient(f"y{i}", "in_progress", "diagnosis", "2025-01-20", "positive") for i in range(3)])
    losses = stage_losses(sankey_flows(pd.concat([journeys, more], ignore_index=True)))
    assert losses.set_index("stage").loc["diagnosis", "dropout_share"] == pytest.approx(1 / 7)
    assert bottleneck(losses)["stage"] == "follow_up"


def test_bottleneck_text_without_resolved_patients(journeys):
    waiting = journeys[journeys["status_stage"].isin(["screening"]) | (journeys["patient_id"] == "p11")]
    text = bottleneck_text(stage_losses(sankey_flows(waiting)), stage_durations(waiting))
    assert text == "Biggest loss: not known yet — no booked stage has resolved patients in this cohort; " \
                   "slowest step: enrollment → screening, median 10 days."


def test_bottleneck_text_without_losses(journeys):
    completed = journeys[journeys["status"] == "completed"]
    text = bottleneck_text(stage_losses(sankey_flows(completed)), stage_durations(completed))
    assert text.startswith("No losses:")


# --- Breakdowns --------------------------------------------------------------------

def test_breakdown_by_site(journeys):
    table = breakdown(journeys, "site")
    assert list(table["group"]) == ["B", "A"]  # highest dropout rate first
    b, a = table.to_dict("records")
    assert (b["patients"], b["resolved"], b["completed"], b["dropped_out"], b["in_progress"]) == (6, 3, 1, 2, 1)
    assert b["completion_rate"] == pytest.approx(1 / 3) and b["dropout_rate"] == pytest.approx(2 / 3)
    assert b["median_days_to_milestone"] == 40.5
    assert (a["patients"], a["completion_rate"], a["dropout_rate"], a["in_progress"]) == (6, 0.5, 0.5, 2)
    assert a["median_days_to_milestone"] == 26


def test_breakdown_by_payer_agrees_with_the_kpis(journeys):
    table = breakdown(journeys, "payer").set_index("group")
    assert list(table.index) == ["Medicaid", "Commercial", "Uninsured"]  # no resolved patient: last
    assert table.loc["Medicaid", "dropout_rate"] == 1 and table.loc["Commercial", "completion_rate"] == 1
    assert math.isnan(table.loc["Uninsured", "dropout_rate"])
    assert table.loc["Commercial", "median_days_to_milestone"] == 35.5
    for payer, rows in journeys.groupby("payer"):
        kpis = cohort_kpis(rows)
        assert table.loc[payer, "patients"] == kpis.patients
        assert table.loc[payer, "in_progress"] == kpis.in_progress
        assert table.loc[payer, "resolved"] == kpis.resolved_after_positive_screen
        if kpis.dropout_rate is not None:
            assert table.loc[payer, "dropout_rate"] == pytest.approx(kpis.dropout_rate)
    assert table["patients"].sum() == len(journeys)


def test_completion_reconciliation_adds_up_and_matches_the_kpis(journeys):
    """The counts behind the Overview's completion rate, the funnel and the Scenarios' adherence:
    every positive screen is completed, exited, dropped out or in progress, once."""
    from data.cohorts import cohort_kpis, completion_reconciliation, funnel_counts

    counts = completion_reconciliation(journeys)
    kpis = cohort_kpis(journeys)
    assert counts.positive == (counts.completed + counts.exited_after_positive + counts.dropped_out
                               + counts.in_progress_after_positive)
    assert counts.positive == int(funnel_counts(journeys).set_index("step").loc["screening_led_on", "patients"])
    assert counts.enrolled == counts.screened + counts.not_screened + counts.awaiting_screening
    assert counts.completion_rate == kpis.completion_rate
    assert counts.screening_uptake == kpis.screening_uptake
    assert counts.screened_of_enrolled == counts.screened / counts.enrolled
    low, high = counts.adherence_bounds
    assert low <= high and high - low == pytest.approx(counts.in_progress_after_positive / counts.positive)


def test_quantiles_read_off_value_counts_equal_pandas_quantiles():
    """The engines count rows per value and data.cohorts reads quantiles off those counts: the
    k-th smallest value must be found exactly (an off-by-one in the cumulative counts shifts
    every median by one value), in any order of the counts, with pandas' interpolation."""
    import numpy as np

    from data.cohorts import DURATION_QUANTILES, median_from_counts, quantiles_from_counts

    rng = np.random.default_rng(3)
    levels = list(DURATION_QUANTILES.values())
    for values in (rng.integers(0, 40, 501).astype(float), rng.normal(30, 9, 200).round(2), np.array([7.0]),
                   np.array([2.0, 2.0, 5.0]), np.array([1.0, 4.0])):
        distinct, counts = np.unique(values, return_counts=True)
        order = rng.permutation(len(distinct))  # the engine returns groups in no particular order
        expected = pd.Series(values).quantile(levels).to_numpy()
        got = quantiles_from_counts(distinct[order], counts[order], levels)
        assert np.allclose(got, expected, rtol=1e-12, atol=1e-12), (values[:5], got, expected)
        assert median_from_counts(distinct[order], counts[order]) == pd.Series(values).median()
    assert all(math.isnan(q) for q in quantiles_from_counts([], [], levels))
