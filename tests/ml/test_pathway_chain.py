"""Pathway chain: the share of missed bookings made up, shortened leads, and levers that only help."""
import numpy as np
import pandas as pd
import pytest

from data.pathway import DECISION_STAGES
from ml.scenarios.attendance import resolved_decision_rows
from ml.scenarios.pathway_chain import PathwayChain, made_up_share, shortened_lead


def test_made_up_share_counts_late_visits_among_missed_first_appointments():
    rows = pd.DataFrame({
        "awaiting_stage": ["diagnosis"] * 4 + ["treatment"] * 2,
        "program": ["diabetes"] * 6,
        "booked_date": pd.to_datetime(["2026-01-10"] * 6),
        "next_stage_date": pd.to_datetime(["2026-01-10", "2026-02-01", None, None, "2026-01-20", "2026-01-05"]),
    })
    share = made_up_share(rows, ["awaiting_stage", "program"])
    assert share[("diagnosis", "diabetes")] == pytest.approx(1 / 3)  # one late visit, two never
    assert share[("treatment", "diabetes")] == pytest.approx(1.0)   # the on-time visit is not a miss


def test_shortened_lead_keeps_a_floor_and_leaves_uncut_rows_alone():
    lead = np.array([4.0, 10.0, 60.0])
    assert shortened_lead(lead, 0.5, 3).tolist() == [3.0, 5.0, 30.0]
    assert shortened_lead(lead, np.array([0.0, 0.5, 0.0]), 3).tolist() == [4.0, 5.0, 60.0]


@pytest.fixture(scope="module")
def chain(default_rows, default_model):
    dataset, rows = default_rows
    latest = rows.groupby("patient_id", sort=False).tail(1)
    return latest, PathwayChain(default_model, latest, rows, resolved_decision_rows(rows, dataset.as_of),
                                {"colorectal": 0.5, "diabetes": 0.6, "depression": 0.7}, 3.0, draws=4)


def test_chain_without_levers_is_the_attendance_model(chain, default_model):
    latest, pathway = chain
    everyone, fitted = np.arange(len(latest)), np.array([0])
    odds = pathway.odds({}, {}, everyone, fitted)
    assert np.allclose(odds.attend[0], default_model.probability(latest), atol=1e-5)
    after = pathway.continuation(odds, everyone)[0]
    assert np.allclose(after[pathway.stage == "follow_up"], 1.0)
    assert ((after > 0) & (after <= 1)).all()


def test_reached_steps_follow_the_pathway(chain):
    latest, pathway = chain
    everyone, fitted = np.arange(len(latest)), np.array([0])
    odds = pathway.odds({}, {}, everyone, fitted)
    reached = pathway.reached(odds.attend, odds, everyone)[:, 0]  # diagnosed, confirmed, treated, followed up
    assert (np.diff(reached, axis=0) <= 1e-12).all()  # nobody skips a step
    at_follow_up = pathway.stage == "follow_up"
    assert np.allclose(reached[:3, at_follow_up], 1.0) and np.allclose(reached[3, at_follow_up], odds.attend[0, at_follow_up])
    # from diagnosis, finishing the pathway = completing it or being ruled out
    at_diagnosis = pathway.stage == "diagnosis"
    no_dropout = odds.attend[0] * pathway.continuation(odds, everyone)[0]
    ruled_out = reached[0] - reached[1]
    assert np.allclose((reached[3] + ruled_out)[at_diagnosis], no_dropout[at_diagnosis])


def test_chain_levers_only_raise_attendance_and_continuation(chain):
    latest, pathway = chain
    everyone, sets = np.arange(len(latest)), np.arange(pathway.n_sets)
    assert pathway.n_sets == 5
    base = pathway.odds({}, {}, everyone, sets)
    for levers in (({"treatment": 0.3}, {}), ({}, {"follow_up": 0.1}), ({s: 0.5 for s in DECISION_STAGES}, {})):
        odds = pathway.odds(*levers, everyone, sets)
        for name in ("attend", "treatment", "follow_up"):
            assert (getattr(odds, name) >= getattr(base, name) - 1e-6).all(), name
        assert (pathway.continuation(odds, everyone) >= pathway.continuation(base, everyone) - 1e-6).all()
