"""The outreach world: what a navigator's call changes, the pilot's log, and their ground truth.

docs/data.md, "Outreach: what a call can change", states the mechanics and the numbers
these tests hold the generator to.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from data.io import read_dataset, write_dataset
from data.pathway import DECISION_STAGES
from data.schema import DISPOSITIONS
from data.synthetic import transition_model as tm
from data.synthetic.dataset import generate_tables
from data.synthetic.generator import (CALL_PILOT_RANDOM, CALL_PILOT_STAFF, DEFAULT_AS_OF, DRAW_NAMES, _streams,
                                      draw_population, outcome_by_patient, pilot_days)
from data.synthetic.ground_truth import call_effect
from data.synthetic.params import GeneratorParams, Levers
from data.synthetic.resimulate import Resimulator
from data.validation import ContractError, validate_outreach

AS_OF = pd.Timestamp(DEFAULT_AS_OF)
PARAMS = GeneratorParams()


@pytest.fixture(scope="module")
def generated():
    return generate_tables(50_000, 7, AS_OF)


@pytest.fixture(scope="module")
def resim():
    return Resimulator(100_000, 7, AS_OF)


def _waiting_on(resim: Resimulator, day: int):
    """Per decision stage: patients waiting for it on `day`, and the exact call effect if called then."""
    sim, attrs = resim.baseline, resim.population.attrs
    out, previous = [], "screening"
    for stage in DECISION_STAGES:
        s = sim.stages[stage]
        waiting = (s["indicated"] & (s["decision_day"] <= day) & ~(s["attended"] & (s["day"] <= day))
                   & (s["decision_day"] + s["window"] >= day))
        idx = np.flatnonzero(waiting)
        effect = call_effect(resim.params, {k: v[idx] for k, v in attrs.items()}, np.full(len(idx), stage),
                             s["lead"][idx], sim.stages[previous]["missed"][idx].astype(float),
                             sim.stages["screening"]["days"][idx].astype(float), day - s["decision_day"][idx])
        out.append((stage, idx, effect))
        previous = stage
    return out


# --------------------------------------------------------------------------- size of the effect


def test_average_gain_of_a_call_is_in_the_published_range(resim):
    """Everyone waiting for a booked stage on the as-of date is called (intention to treat, as in
    PRECISE: offered navigation, reached or not).  Awaited-stage completion (PRECISE's outcome:
    the colonoscopy) rises by 10-16 points on average; pathway completion (true_call_gain) by
    9-15 points: a call helps one stage, and some patients drop out later anyway."""
    parts = _waiting_on(resim, resim.population.as_of_day)
    stage_gain = np.concatenate([e["stage_gain"] for _, _, e in parts])
    gain = np.concatenate([e["gain"] for _, _, e in parts])
    baseline = np.concatenate([e["stage_attendance"] for _, _, e in parts])
    assert len(gain) > 800
    assert 0.10 <= stage_gain.mean() <= 0.16, stage_gain.mean()
    assert 0.09 <= gain.mean() <= 0.15, gain.mean()
    assert gain.mean() < stage_gain.mean()
    assert 0.35 <= baseline.mean() <= 0.55  # PRECISE usual care: 42 %


def test_gain_among_navigated_patients_is_their_missed_stage_made_up(resim):
    """Navigated = reached, barrier removable, time left, attends: in re-simulation their
    awaited-stage attendance rises by about the share who would have missed it (not by a
    fraction of their risk), well above the intention-to-treat gain."""
    day = resim.population.as_of_day
    parts = _waiting_on(resim, day)
    calls = {pid: 0 for _, idx, _ in parts for pid in resim.population.patients["patient_id"].to_numpy()[idx]}
    called = resim.run(Levers(calls=calls))
    base = resim.baseline
    for stage, idx, effect in parts:
        navigated = called.stages[stage]["call_navigated"][idx] & called.stages[stage]["call_time_left"][idx]
        gain_navigated = (called.stages[stage]["attended"][idx][navigated].mean()
                          - base.stages[stage]["attended"][idx][navigated].mean())
        would_miss = 1 - effect["stage_attendance"][navigated].mean()
        assert gain_navigated > effect["stage_gain"].mean() + 0.15, stage
        assert abs(gain_navigated - would_miss) < 0.12, (stage, gain_navigated, would_miss)


def test_benefit_is_not_proportional_to_risk(generated):
    """Among in-progress patients: gain and risk are only weakly related, and a large group has
    high risk and (almost) no gain: out of time, or hard to reach."""
    truth = generated[0]["ground_truth"]
    rows = truth[truth["true_call_gain"].notna()]
    risk = 1 - rows["true_completion_probability"].to_numpy()
    gain = rows["true_call_gain"].to_numpy()
    assert len(rows) > 400
    rho = spearmanr(gain, risk).statistic
    assert rho < 0.6, rho
    high_risk = risk >= np.quantile(risk, 0.75)
    low_gain = gain < np.quantile(gain, 0.25)
    assert (high_risk & low_gain).sum() >= 0.15 * high_risk.sum()
    # Gain per unit of risk varies widely: a call is not a fixed relative cut in dropout.
    ratio = gain[risk > 0.2] / risk[risk > 0.2]
    assert np.quantile(ratio, 0.9) > 3 * np.quantile(ratio, 0.1)


def test_out_of_time_and_unreachable_patients_gain_little(resim):
    """The documented high-risk, low-gain groups: fewer than rebook_room_days left after the
    last attempt (no gain at all), and the hardest to reach (bottom quarter of the chance a
    call episode reaches them: non-English, no portal, prior no-shows, Medicaid/uninsured)."""
    parts = _waiting_on(resim, resim.population.as_of_day)
    attrs = resim.population.attrs
    for stage, idx, effect in parts:
        s = resim.baseline.stages[stage]
        days_left = s["decision_day"][idx] + s["window"][idx] - resim.population.as_of_day
        out_of_time = days_left < PARAMS.rebook_room_days
        assert (effect["gain"][out_of_time] == 0).all()
    idx = np.concatenate([p[1] for p in parts])
    gain = np.concatenate([p[2]["gain"] for p in parts])
    risk = 1 - np.concatenate([p[2]["completion"] for p in parts])
    sub = {k: v[idx] for k, v in attrs.items()}
    reach = tm.phone_valid_probability(PARAMS, sub) * (
        1 - (1 - tm.reach_attempt_probability(PARAMS, sub)) ** PARAMS.call_attempts)
    hard = reach <= np.quantile(reach, 0.25)
    # More at risk than the average patient, yet a call buys them no more: per unit of
    # risk, a fifth less.
    assert risk[hard].mean() > 1.15 * risk.mean()
    assert gain[hard].mean() <= gain.mean()
    assert gain[hard].mean() / risk[hard].mean() < 0.8 * gain.mean() / risk.mean()


# --------------------------------------------------------------------------- re-simulation


@pytest.mark.parametrize("offset", [0, -45])
def test_resimulated_calls_match_the_exact_gain(resim, offset):
    """Call everyone waiting on a day, re-simulate over many call draws: the extra
    non-dropouts match the exact gains.  Conditioned on the baseline's own realisation (who
    would miss the stage), the expected extra is the sum over would-be missers of
    gain / P(miss); unconditionally, the sum of the gains (looser: one realisation)."""
    day = resim.population.as_of_day + offset
    parts = _waiting_on(resim, day)
    idx = np.concatenate([p[1] for p in parts])
    gain = np.concatenate([p[2]["gain"] for p in parts])
    fail = 1 - np.concatenate([p[2]["stage_attendance"] for p in parts])
    missed = np.concatenate([~resim.baseline.stages[stage]["attended"][i] for stage, i, _ in parts])
    ids = resim.population.patients["patient_id"].to_numpy()
    base_ok = (outcome_by_patient(resim.baseline) != "dropped_out")[idx].sum()
    extra = []
    for seed in range(40):
        sim = resim.run(Levers(calls={pid: offset for pid in ids[idx]}, call_draw_seed=seed))
        extra.append((outcome_by_patient(sim) != "dropped_out")[idx].sum() - base_ok)
    extra = np.asarray(extra, dtype=float)
    per_miss = np.divide(gain, fail, out=np.zeros_like(gain), where=fail > 0)
    expected_here = per_miss[missed].sum()
    # Only the call draws vary: their spread, plus the per-seed variance bound of the sum.
    se_calls = np.sqrt(max(extra.var(ddof=1), np.sum(per_miss[missed] * (1 - per_miss[missed]))) / len(extra))
    assert abs(extra.mean() - expected_here) < 4 * se_calls, (extra.mean(), expected_here, se_calls)
    assert 4 * se_calls < 0.08 * expected_here  # a 10 % error in the gain would be caught
    se_all = np.sqrt(se_calls**2 + np.sum(per_miss**2 * fail * (1 - fail)))
    assert abs(extra.mean() - gain.sum()) < 4 * se_all, (extra.mean(), gain.sum(), se_all)


def test_calls_change_only_the_called_patients(resim):
    ids = resim.population.patients["patient_id"].to_numpy()
    parts = _waiting_on(resim, resim.population.as_of_day)
    called_idx = np.concatenate([p[1] for p in parts])[::2]
    scenario = resim.run(Levers(calls={pid: 0 for pid in ids[called_idx]}))
    before, after = outcome_by_patient(resim.baseline), outcome_by_patient(scenario)
    others = np.ones(len(ids), bool)
    others[called_idx] = False
    np.testing.assert_array_equal(before[others], after[others])
    assert (after[called_idx] == "dropped_out").sum() < (before[called_idx] == "dropped_out").sum()
    # A call cannot make anyone worse off, and a call to someone not waiting does nothing.
    assert not ((before == "completed") & (after != "completed")).any()
    done = np.flatnonzero(resim.baseline.stages["follow_up"]["attended"])[:50]
    same = resim.run(Levers(calls={pid: 0 for pid in ids[done]}))
    np.testing.assert_array_equal(outcome_by_patient(same), before)


def test_call_dates_and_offsets_mean_the_same_day(resim):
    ids = resim.population.patients["patient_id"].to_numpy()
    idx = _waiting_on(resim, resim.population.as_of_day - 10)[0][1][:200]
    by_offset = resim.run(Levers(calls={pid: -10 for pid in ids[idx]}))
    by_date = resim.run(Levers(calls={pid: (AS_OF - pd.Timedelta(days=10)).date() for pid in ids[idx]}))
    np.testing.assert_array_equal(outcome_by_patient(by_offset), outcome_by_patient(by_date))
    with pytest.raises(ValueError, match="not in the population"):
        resim.run(Levers(calls={"NOPE": 0}))


# --------------------------------------------------------------------------- the pilot


def test_pilot_randomises_the_documented_share_inside_its_window(resim):
    sim = resim.baseline
    start, end = pilot_days(PARAMS, resim.population.as_of_day)
    step = PARAMS.pilot_sweep_days
    for stage in DECISION_STAGES:
        s = sim.stages[stage]
        first_sweep = start + step * np.ceil(np.maximum(0, s["decision_day"] - start) / step)
        # Eligible: waiting at the first sweep (the pilot changes nothing before its call).
        eligible = (s["indicated"] & (first_sweep <= end) & (first_sweep >= s["decision_day"])
                    & ~(s["attended"] & (s["day"] <= first_sweep))
                    & (s["decision_day"] + s["window"] >= first_sweep))
        random_arm = s["call_source"] == CALL_PILOT_RANDOM
        assert not (random_arm & ~eligible).any()
        share = random_arm[eligible].mean()
        se = np.sqrt(PARAMS.pilot_random_share * (1 - PARAMS.pilot_random_share) / eligible.sum())
        assert abs(share - PARAMS.pilot_random_share) < 4 * se, (stage, share)
        called = s["call_source"] > 0
        assert ((s["call_day"][called] >= start) & (s["call_day"][called] <= end)).all()
        assert (s["call_day"][called] >= s["decision_day"][called]).all()
        # Staff judgement: only patients overdue past their booked date, never the random arm.
        staff = s["call_source"] == CALL_PILOT_STAFF
        assert staff.sum() > 0
        overdue = s["call_day"][staff] - (s["decision_day"][staff] + s["lead"][staff])
        assert (overdue >= PARAMS.pilot_staff_overdue_days).all()


def test_pilot_log_attempts_dates_and_dispositions(generated):
    tables, _ = generated
    log = tables["outreach"]
    start, end = pilot_days(PARAMS, int((AS_OF - pd.Timestamp("1970-01-01")).days))
    first = pd.Timestamp("1970-01-01") + pd.Timedelta(days=start)
    last = pd.Timestamp("1970-01-01") + pd.Timedelta(days=end + PARAMS.call_attempt_gap_days * (PARAMS.call_attempts - 1))
    assert len(log) > 1_000
    assert log["date"].between(first, last).all()
    assert set(log["disposition"]) == set(DISPOSITIONS)
    assert (log["source"] == "pilot").all()
    per_episode = log.groupby(["patient_id", "awaited_stage"]).size()
    assert per_episode.max() <= PARAMS.call_attempts
    # At most one reached attempt per episode, and it is the last one.
    reached = log["disposition"].str.startswith("reached")
    last_attempt = ~log.duplicated(["patient_id", "awaited_stage"], keep="last")
    assert (~reached | last_attempt).all()
    assert (~(log["disposition"] == "wrong_number") | last_attempt).all()


def test_reached_and_rebooked_patients_attend_more(generated):
    """Dispositions follow the mechanics: a rebooked patient attends the awaited stage far more
    often than one who declined or could not be reached (read from the event log, as an
    analyst of the pilot would)."""
    tables, _ = generated
    log, events = tables["outreach"], tables["events"]
    final = log.drop_duplicates(["patient_id", "awaited_stage"], keep="last")
    attended = final.merge(events[["patient_id", "stage"]], left_on=["patient_id", "awaited_stage"],
                           right_on=["patient_id", "stage"], how="left")["stage"].notna().to_numpy()
    rate = pd.Series(attended).groupby(final["disposition"].to_numpy()).mean()
    assert rate["reached_rebooked"] > 0.85
    for other in ("reached_declined", "left_message", "unreachable", "wrong_number"):
        assert rate["reached_rebooked"] > rate[other] + 0.2, rate.to_dict()


def test_the_pilot_rescues_some_patients_and_touches_no_one_else(resim):
    without = resim.run(Levers(pilot=False))
    called = np.zeros(len(resim.population.patients), bool)
    for stage in DECISION_STAGES:
        called |= resim.baseline.stages[stage]["call_source"] > 0
    before, after = outcome_by_patient(without), outcome_by_patient(resim.baseline)
    np.testing.assert_array_equal(before[~called], after[~called])
    rescued = ((before == "dropped_out") & (after != "dropped_out")).sum()
    assert rescued > 0.03 * called.sum()
    assert not ((before != "dropped_out") & (after == "dropped_out")).any()


# --------------------------------------------------------------------------- contract


def test_generated_outreach_log_meets_the_contract(generated, tmp_path):
    tables, manifest = generated
    validate_outreach(tables["outreach"], tables["patients"], AS_OF)
    write_dataset(tables, manifest, tmp_path / "ds", fmt="csv")
    dataset = read_dataset(tmp_path / "ds")
    assert len(dataset.outreach) == len(tables["outreach"])
    assert dataset.outreach["disposition"].isin(DISPOSITIONS).all()
    assert "true_call_gain" in dataset.ground_truth.columns
    assert dataset.ground_truth["true_call_gain"].notna().sum() > 400


def test_dataset_without_outreach_reads_as_none(generated, tmp_path):
    tables, manifest = generated
    write_dataset({k: v for k, v in tables.items() if k != "outreach"}, manifest, tmp_path / "ds")
    assert read_dataset(tmp_path / "ds").outreach is None


def test_bad_outreach_rows_are_refused_with_file_column_rule_and_rows(generated, tmp_path):
    tables, manifest = generated
    bad = tables["outreach"].head(6).copy().reset_index(drop=True)
    bad.loc[0, "patient_id"] = "P9999999"
    bad.loc[1, "date"] = AS_OF + pd.Timedelta(days=3)
    bad.loc[2, "disposition"] = "voicemail_full"
    bad.loc[3, "awaited_stage"] = "screening"
    with pytest.raises(ContractError) as caught:
        validate_outreach(bad, tables["patients"], AS_OF, source="in/outreach.csv")
    problems = {(p.column, p.rule) for p in caught.value.problems}
    assert problems == {("patient_id", "unknown_patient"), ("date", "after_as_of"),
                        ("disposition", "allowed_values"), ("awaited_stage", "allowed_values")}
    text = str(caught.value)
    assert "in/outreach.csv" in text and "row 2" in text and "voicemail_full" in text
    # The same refusal when a data folder holds the bad log.
    write_dataset({**tables, "outreach": bad}, manifest, tmp_path / "ds", fmt="csv")
    (tmp_path / "ds" / "manifest.json").unlink()  # the checksum would (rightly) flag the edit first
    with pytest.raises(ContractError, match="outreach.csv"):
        read_dataset(tmp_path / "ds", as_of=AS_OF)
    missing = tables["outreach"].drop(columns=["disposition"])
    with pytest.raises(ContractError, match="disposition"):
        validate_outreach(missing, tables["patients"], AS_OF)


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_outreach_world():
    a, _ = generate_tables(4_000, 5, AS_OF)
    b, _ = generate_tables(4_000, 5, AS_OF)
    for name in ("outreach", "ground_truth"):
        pd.testing.assert_frame_equal(a[name], b[name])
    c, _ = generate_tables(4_000, 6, AS_OF)
    assert not a["ground_truth"]["true_call_gain"].equals(c["ground_truth"]["true_call_gain"])


def test_new_streams_shift_no_older_draw():
    """The outreach streams were appended: every older stream keeps its seed."""
    n, seed = 500, 3
    _, draws = draw_population(n, seed, AS_OF)
    older = DRAW_NAMES.index("phone_valid")
    rngs = _streams(seed, 1 + older)  # the spawn before the outreach world existed
    for name, rng in zip(DRAW_NAMES[:older], rngs[1:]):
        np.testing.assert_array_equal(draws[name], rng.random(n), err_msg=name)


def test_call_model_pieces_behave_as_documented():
    attrs = {"non_english": np.array([0, 1, 0]), "portal_user": np.array([1, 0, 0]),
             "prior_no_shows_12m": np.array([0, 3, 0]), "payer_code": np.array([0, 2, 0]),
             "adi": np.array([30.0, 90.0, 50.0]), "est_out_of_pocket": np.array([100.0, 100.0, 2000.0]),
             "distance_km": np.array([5.0, 5.0, 5.0])}
    reach = tm.reach_attempt_probability(PARAMS, attrs)
    assert reach[0] > reach[2] > reach[1]
    assert tm.phone_valid_probability(PARAMS, attrs)[0] > tm.phone_valid_probability(PARAMS, attrs)[1]
    remove = tm.removable_probability(PARAMS, attrs, "diagnosis", np.array([10.0, 10.0, 10.0]))
    assert remove[0] == pytest.approx(PARAMS.remove_reminder_probability)
    assert remove[1] > remove[0] and remove[2] > remove[0]  # Medicaid; high out-of-pocket
    longer = tm.removable_probability(PARAMS, attrs, "diagnosis", np.array([60.0, 60.0, 60.0]))
    assert (longer > remove).all()  # a long booked wait: an earlier slot
    u = np.random.default_rng(0).random(200_000)
    attempt = tm.attempts_to_reach(PARAMS, np.full(len(u), 0.4), u)
    assert abs((attempt == 1).mean() - 0.4) < 0.01 and abs((attempt == 2).mean() - 0.24) < 0.01


def test_true_dropout_probability_is_the_risk_without_calls(generated):
    """true_dropout_probability is the risk if nobody calls: calibrated against the world
    without the pilot (diagnosis decision points, which the pilot cannot create or remove),
    while in the world with it the pilot-reachable rows realise less dropout."""
    tables, manifest = generated
    truth = tables["ground_truth"]
    resim = Resimulator.from_manifest(manifest)
    ids = resim.population.patients["patient_id"].to_numpy()
    without = pd.Series(outcome_by_patient(resim.run(Levers(pilot=False))) == "dropped_out", index=ids)
    diagnosis = truth[truth["decision_stage"] == "diagnosis"]
    frame = pd.DataFrame({"p": diagnosis["true_dropout_probability"].to_numpy(),
                          "y": without.loc[diagnosis["patient_id"]].to_numpy(dtype=float)})
    frame["bin"] = pd.qcut(frame["p"], 10, labels=False, duplicates="drop")
    for _, group in frame.groupby("bin"):
        se = np.sqrt(max(group["p"].mean() * (1 - group["p"].mean()), 1e-4) / len(group))
        assert abs(group["y"].mean() - group["p"].mean()) < 4 * se
    start, end = pilot_days(PARAMS, int((AS_OF - pd.Timestamp("1970-01-01")).days))
    day = (truth["decision_date"] - pd.Timestamp("1970-01-01")).dt.days
    reachable = day.between(start - 180, end)
    gap = truth.loc[reachable, "true_dropout_probability"].mean() - truth.loc[reachable, "will_drop_out"].mean()
    assert 0.01 < gap < 0.08, gap
