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


def test_chain_odds_equal_the_formula_and_leave_the_model_untouched(chain):
    """The chain computes its wait look-ups on flattened tables, in place: a view instead of a
    copy would write expit() into the wait tables and change every later projection. The odds
    must equal the formula written out (clip(expit(logit + wait) + extra, 0, 1), averaged over
    the booked-lead quantiles), bit for bit, and be the same when asked again."""
    from scipy.special import expit
    from ml.scenarios.pathway_chain import _days

    latest, pathway = chain
    at, sets = np.arange(0, len(latest), 3), np.array([0, 2, 3])
    tables = pathway.tables.copy()
    cuts, first_visit = {"diagnosis": 0.2, "treatment": 0.4}, {"follow_up": 0.1}
    odds = pathway.odds(cuts, first_visit, at, sets)
    for stage, got in (("treatment", odds.treatment), ("follow_up", odds.follow_up)):
        ahead = pathway.ahead[stage]
        days = _days(shortened_lead(ahead["leads"][at], cuts.get(stage, 0.0), pathway.lead_floor))
        wait = tables[sets[:, None, None], ahead["level"][at][None, :, None], days[None, :, :]]
        attend = expit(ahead["logit"][sets][:, at][:, :, None] + wait)
        extra = first_visit.get(stage, 0.0) * pathway.not_made_up[stage][at]
        assert np.array_equal(got, np.clip(attend + extra[None, :, None], 0.0, 1.0).mean(axis=2)), stage
    assert np.array_equal(pathway.tables, tables)
    again = pathway.odds(cuts, first_visit, at, sets)
    assert all(np.array_equal(getattr(odds, k), getattr(again, k)) for k in ("attend", "treatment", "follow_up"))


def test_arithmetic_counts_under_a_mask_equal_the_frame_filtered(default_rows):
    """ClosedDecisions counts a cohort's closed decision points under a mask over patients; the
    conversion, made-up share and leads must be those of the frame filtered to the cohort."""
    from ml.scenarios.arithmetic import ClosedDecisions

    dataset, rows = default_rows
    resolved = rows[resolved_decision_rows(rows, dataset.as_of)]
    codes, _ = pd.factorize(resolved["patient_id"])
    member = np.random.default_rng(0).random(codes.max() + 1) < 0.3
    records, used = ClosedDecisions(resolved, codes).records(member)
    cohort = resolved[member[codes]]
    made_up = made_up_share(cohort, ["awaiting_stage"])
    assert used == len(cohort)
    for stage in DECISION_STAGES:
        sub = cohort[cohort["awaiting_stage"] == stage]
        record = records[stage]
        assert record.attended / record.decisions == sub["next_stage_date"].notna().mean()
        assert record.made_up / record.missed_first == made_up[stage]
        assert np.array_equal(record.leads, sub["lead_days"].dropna().to_numpy(float))


def test_the_baseline_in_blocks_of_patients_is_the_one_call_baseline(chain):
    """The engine computes every patient's baseline odds a block of patients at a time (10M
    patients' intermediates at once took GBs). Bug guarded: blocks that shift or drop patients,
    or odds that depend on who else is in the block."""
    latest, pathway = chain
    sets = np.arange(pathway.n_sets)
    whole = pathway.odds({}, {}, np.arange(len(latest)), sets).compact()
    for block in (997, 4096, len(latest) + 1):
        blocked = pathway.baseline(sets, block=block)
        for name in ("attend", "treatment", "follow_up"):
            assert np.array_equal(getattr(blocked, name), getattr(whole, name)), (block, name)


def test_logits_built_in_blocks_of_patients_are_the_one_call_logits(chain, default_rows, default_model,
                                                                     monkeypatch):
    """The chain builds its patients' design matrices and logits a block of rows at a time (10M
    patients' at once took ~6 GB). Bug guarded: blocks that shift, drop or repeat rows."""
    from ml.scenarios import pathway_chain

    latest, whole = chain
    dataset, rows = default_rows
    monkeypatch.setattr(pathway_chain, "BASELINE_BLOCK", 1013)
    blocked = PathwayChain(default_model, latest, rows, resolved_decision_rows(rows, dataset.as_of),
                           {"colorectal": 0.5, "diabetes": 0.6, "depression": 0.7}, 3.0, draws=4)
    assert len(latest) > 1013
    assert np.array_equal(blocked.logit_now, whole.logit_now)
    for stage in whole.ahead:
        assert np.array_equal(blocked.ahead[stage]["logit"], whole.ahead[stage]["logit"])
