"""Generator: determinism, documented rates, censoring, calibrated ground truth, re-simulation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.synthetic.dataset import generate_tables
from data.synthetic.generator import DEFAULT_AS_OF, draw_population, outcome_by_patient, simulate
from data.synthetic.ground_truth import attrs_from_patients, dropout_probability
from data.journeys import derive_decision_points, derive_journeys
from data.synthetic.params import Levers
from data.synthetic.resimulate import Resimulator
from data.validation import validate_tables

AS_OF = pd.Timestamp(DEFAULT_AS_OF)


@pytest.fixture(scope="module")
def generated():
    return generate_tables(50_000, 7, AS_OF)


@pytest.fixture(scope="module")
def resim():
    return Resimulator(50_000, 7, AS_OF)


def test_same_seed_gives_identical_tables():
    a, _ = generate_tables(3_000, 11, AS_OF)
    b, _ = generate_tables(3_000, 11, AS_OF)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    c, _ = generate_tables(3_000, 12, AS_OF)
    assert not a["events"]["date"].equals(c["events"]["date"])


def test_generated_data_meets_the_contract(generated):
    tables, manifest = generated
    validate_tables(tables["patients"], tables["events"], AS_OF)
    assert manifest["rows"]["patients"] == 50_000
    enrolled = tables["patients"]["enrollment_date"]
    assert (AS_OF - enrolled.min()).days >= 24 * 30
    assert tables["patients"]["site"].nunique() >= 8
    assert (tables["events"]["date"] <= AS_OF).all()


# Documented in docs/data.md: (program, rate) -> accepted range over the full simulated future.
DOCUMENTED_RATES = {
    ("colorectal", "screening_uptake"): (0.50, 0.65),
    ("colorectal", "screen_positive"): (0.08, 0.15),
    ("colorectal", "diagnosis_after_positive"): (0.45, 0.62),
    ("diabetes", "screening_uptake"): (0.62, 0.78),
    ("diabetes", "screen_positive"): (0.30, 0.45),
    ("diabetes", "diagnosis_after_positive"): (0.65, 0.80),
    ("depression", "screening_uptake"): (0.62, 0.80),
    ("depression", "screen_positive"): (0.18, 0.30),
    ("depression", "diagnosis_after_positive"): (0.48, 0.65),
}


def test_marginal_rates_within_documented_ranges(resim):
    stages = resim.baseline.stages
    program = resim.population.patients["program"].astype(str).to_numpy()
    for (name, rate), (low, high) in DOCUMENTED_RATES.items():
        rows = program == name
        screened = stages["screening"]["attended"] & rows
        value = {
            "screening_uptake": stages["screening"]["attended"][rows].mean(),
            "screen_positive": stages["screening"]["result_flag"][screened].mean(),
            "diagnosis_after_positive": stages["diagnosis"]["attended"][stages["diagnosis"]["indicated"] & rows].mean(),
        }[rate]
        assert low <= value <= high, f"{name} {rate} = {value:.3f} outside [{low}, {high}]"


def test_censoring_no_in_progress_dropout_and_labels_only_after_the_horizon(generated):
    tables, _ = generated
    journeys = derive_journeys(tables["patients"], tables["events"], AS_OF)
    in_progress = journeys["status"] == "in_progress"
    assert in_progress.sum() > 0
    assert (journeys.loc[in_progress, "window_closes"] >= AS_OF).all()
    points = derive_decision_points(tables["patients"], tables["events"], AS_OF)
    assert points.loc[~points["label_known"], "dropped_out"].isna().all()
    assert (points.loc[points["label_known"], "pathway_outcome"] != "in_progress").all()


def test_observed_labels_equal_the_full_future_outcome(generated):
    """A label derived from the censored log must be the true final outcome."""
    tables, _ = generated
    points = derive_decision_points(tables["patients"], tables["events"], AS_OF)
    truth = tables["ground_truth"].rename(columns={"decision_stage": "awaiting_stage"})
    merged = points.merge(truth, on=["patient_id", "awaiting_stage", "decision_date"], validate="one_to_one")
    assert len(merged) == len(points) == len(truth)
    known = merged[merged["label_known"]]
    assert len(known) > 5_000
    assert (known["dropped_out"].astype(bool) == known["will_drop_out"]).all()


def _assert_calibrated(probability: np.ndarray, outcome: np.ndarray, bins: int = 10) -> None:
    frame = pd.DataFrame({"p": probability, "y": outcome.astype(float)})
    frame["bin"] = pd.qcut(frame["p"], bins, labels=False, duplicates="drop")
    for _, group in frame.groupby("bin"):
        expected = group["p"].mean()
        se = np.sqrt(max(expected * (1 - expected), 1e-4) / len(group))
        assert abs(group["y"].mean() - expected) < 4 * se, (group["y"].mean(), expected, len(group))


def test_ground_truth_is_calibrated_against_realised_outcomes(generated):
    truth = generated[0]["ground_truth"]
    _assert_calibrated(truth["true_dropout_probability"].to_numpy(), truth["will_drop_out"].to_numpy())


def test_landmark_ground_truth_after_a_missed_booking_is_calibrated(resim):
    """Waiting past the booked date with no visit: the oracle conditions on the miss."""
    sim = resim.baseline
    attrs = resim.population.attrs
    stage = sim.stages["diagnosis"]
    waited = stage["lead"] + 10
    still_waiting = stage["indicated"] & ~(stage["attended"] & (stage["day"] - stage["decision_day"] <= waited))
    idx = np.flatnonzero(still_waiting)
    sub = {k: v[idx] for k, v in attrs.items()}
    probability = dropout_probability(resim.params, sub, np.full(len(idx), "diagnosis"), stage["lead"][idx],
                                      np.zeros(len(idx)), sim.stages["screening"]["days"][idx].astype(float),
                                      waited[idx])
    outcome = outcome_by_patient(sim)[idx] == "dropped_out"
    at_decision = dropout_probability(resim.params, sub, np.full(len(idx), "diagnosis"), stage["lead"][idx],
                                      np.zeros(len(idx)), sim.stages["screening"]["days"][idx].astype(float))
    missed = waited[idx] >= stage["lead"][idx]
    assert (probability[missed] > at_decision[missed]).all()  # a missed booking is a warning sign
    _assert_calibrated(probability, outcome, bins=5)


def test_oracle_from_patients_table_matches_generator_arrays(generated, resim):
    patients = generated[0]["patients"]
    rebuilt = attrs_from_patients(patients)
    for key, value in rebuilt.items():
        np.testing.assert_allclose(value.astype(float), resim.population.attrs[key].astype(float), err_msg=key)


def test_resimulation_with_unchanged_levers_reproduces_the_baseline(resim):
    same = resim.run(Levers(lead_time_scale={"diagnosis": 1.0}, attendance_shift={"treatment": 0.0}))
    fresh = simulate(*draw_population(50_000, 7, AS_OF))
    for stage, arrays in resim.baseline.stages.items():
        for key, value in arrays.items():
            np.testing.assert_array_equal(same.stages[stage][key], value, err_msg=f"{stage}.{key}")
            np.testing.assert_array_equal(fresh.stages[stage][key], value, err_msg=f"{stage}.{key}")


def test_shorter_waits_lower_dropout_and_touch_nothing_upstream(resim):
    base = resim.outcomes(resim.baseline)
    faster = resim.run(Levers(lead_time_scale={s: 0.5 for s in ("diagnosis", "treatment", "follow_up")}))
    after = resim.outcomes(faster)
    assert after.dropped_out < base.dropped_out
    assert after.completion_rate > base.completion_rate
    np.testing.assert_array_equal(faster.stages["screening"]["attended"], resim.baseline.stages["screening"]["attended"])


def test_outreach_only_changes_contacted_patients(resim):
    sim = resim.baseline
    waiting = sim.stages["diagnosis"]["indicated"] & ~sim.stages["diagnosis"]["attended"]
    ids = resim.population.patients["patient_id"].to_numpy()
    contacted = np.zeros(len(ids), bool)
    contacted[np.flatnonzero(waiting)[::2]] = True
    scenario = resim.run(Levers(outreach_patient_ids=frozenset(ids[contacted]), outreach_effectiveness=0.5))
    before, after = outcome_by_patient(sim), outcome_by_patient(scenario)
    np.testing.assert_array_equal(before[~contacted], after[~contacted])
    assert (after[contacted] == "dropped_out").sum() < (before[contacted] == "dropped_out").sum()


def test_screening_uptake_lever_adds_the_stated_percentage_points(resim):
    shifted = resim.run(Levers(screening_uptake_shift=0.05))
    gain = shifted.stages["screening"]["attended"].mean() - resim.baseline.stages["screening"]["attended"].mean()
    assert 0.04 < gain <= 0.05
