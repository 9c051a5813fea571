"""Synthetic EHR/claims journeys with known ground truth.

The population (attributes) and every random draw are fixed by the seed *before*
any outcome is simulated, each draw from its own stream.  Outcomes are a
deterministic function of (parameters, population, draws), so the same patients can
be re-simulated under what-if levers with the same draws wherever a lever does not
apply.  Everything is vectorised: no per-patient Python loop.

`python -m data.generate` is the command-line entry point.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from data.synthetic import transition_model as tm
from data.synthetic.params import SITES, GeneratorParams, Levers, validate_params
from data.pathway import ALLOWED_WINDOW_DAYS, DECISION_STAGES
from data.schema import LANGUAGES, PAYERS, PROGRAMS, RACE_ETHNICITIES, REGIONS, STAGES

DEFAULT_AS_OF = "2026-09-30"
GENERATOR_VERSION = "2"  # 2: the outreach world (pilot calls, call model)
EPOCH = np.datetime64("1970-01-01", "D")

# Independent uniform streams per patient; adding a stream never shifts another.
DRAW_NAMES = (
    "screen_attend", "screen_time", "screen_result",
    *[f"{stage}_{what}" for stage in DECISION_STAGES
      for what in ("lead", "attend", "rebook", "rebook_delay", "outreach")],
    "diagnosis_result",
    *[f"{stage}_cost" for stage in STAGES],
)
# The outreach world's streams come after every older one, so adding them shifted nothing.
# `call_*` decide what a call does (redrawn by Levers.call_draw_seed); `pilot_*` whom the
# historical pilot called.
CALL_DRAW_NAMES = (
    "phone_valid",
    *[f"{stage}_call_{what}" for stage in DECISION_STAGES for what in ("reach", "remove", "attend", "voicemail")],
)
PILOT_DRAW_NAMES = tuple(f"{stage}_pilot_{what}" for stage in DECISION_STAGES for what in ("random", "staff"))
DRAW_NAMES = DRAW_NAMES + CALL_DRAW_NAMES + PILOT_DRAW_NAMES
# Who placed a call (per stage, in the simulation): none, the pilot's random arm, the
# pilot's staff judgement, a what-if call (Levers.calls).
CALL_NONE, CALL_PILOT_RANDOM, CALL_PILOT_STAFF, CALL_WHAT_IF = 0, 1, 2, 3


@dataclass
class Population:
    """Observable patient attributes (arrays) plus their table form."""
    attrs: dict
    patients: pd.DataFrame
    as_of_day: int


@dataclass
class Simulation:
    """Full, uncensored journeys: per stage, who reached it, when, and the result."""
    population: Population
    stages: dict  # stage -> dict of arrays


def _day(date) -> int:
    return int((np.datetime64(pd.Timestamp(date).date(), "D") - EPOCH).astype(int))


def _streams(seed: int, n_streams: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n_streams)]


def draw_population(n_patients: int, seed: int, as_of=DEFAULT_AS_OF,
                    params: GeneratorParams | None = None) -> tuple[Population, dict]:
    """Draw patient attributes and every uniform the simulation will use."""
    params = params or GeneratorParams()
    validate_params(params)
    if n_patients < 1:
        raise ValueError("n_patients must be at least 1")
    attr_rng, *draw_rngs = _streams(seed, 1 + len(DRAW_NAMES))
    draws = {name: rng.random(n_patients) for name, rng in zip(DRAW_NAMES, draw_rngs)}
    as_of_day = _day(as_of)
    attrs = _draw_attributes(attr_rng, n_patients, params, as_of_day)
    return Population(attrs, _patients_frame(attrs, as_of_day), as_of_day), draws


def _draw_attributes(rng: np.random.Generator, n: int, params: GeneratorParams, as_of_day: int) -> dict:
    program = rng.choice(len(PROGRAMS), n, p=[params.program_mix[p] for p in PROGRAMS])
    age_mean = np.array([60.0, 55.0, 42.0])[program]
    age_sd = np.array([7.5, 13.0, 15.0])[program]
    age_lo = np.array([45, 25, 18])[program]
    age_hi = np.array([75, 90, 90])[program]
    age = np.clip(np.rint(rng.normal(age_mean, age_sd)), age_lo, age_hi).astype(np.int64)
    female_share = np.array([0.52, 0.50, 0.64])[program]
    sex = (rng.random(n) >= female_share).astype(np.int64)  # 0 = F, 1 = M
    race = rng.choice(len(RACE_ETHNICITIES), n, p=[0.58, 0.14, 0.17, 0.07, 0.04])
    u_lang = rng.random(n)
    spanish_share = np.where(race == RACE_ETHNICITIES.index("Hispanic"), 0.45, 0.01)
    other_share = np.where(race == RACE_ETHNICITIES.index("Asian"), 0.25, 0.015)
    language = np.where(u_lang < spanish_share, 1, np.where(u_lang < spanish_share + other_share, 2, 0))
    region = rng.choice(len(REGIONS), n, p=[0.45, 0.35, 0.20])
    site_names = tuple(SITES)
    site = np.empty(n, dtype=np.int64)
    u_site = rng.random(n)
    for r, region_name in enumerate(REGIONS):
        in_region = [i for i, s in enumerate(site_names) if SITES[s][0] == region_name]
        idx = np.flatnonzero(region == r)
        site[idx] = np.asarray(in_region)[np.minimum((u_site[idx] * len(in_region)).astype(int), len(in_region) - 1)]
    u_payer = rng.random(n)
    under65 = np.select(
        [u_payer < 0.58, u_payer < 0.86], [PAYERS.index("Commercial"), PAYERS.index("Medicaid")],
        PAYERS.index("Uninsured"))
    over65 = np.where(u_payer < 0.88, PAYERS.index("Medicare"), PAYERS.index("Commercial"))
    payer = np.where(age >= 65, over65, under65)
    vulnerable = np.isin(payer, [PAYERS.index("Medicaid"), PAYERS.index("Uninsured")])
    adi = np.clip(np.rint(rng.normal(42 + 16 * vulnerable + 10 * (region == 2) + 6 * (race == 1), 20)), 1, 100)
    distance = np.round(np.exp(rng.normal(np.log(np.array([4.0, 11.0, 32.0])[region]), 0.6)), 1)
    comorbidity = np.minimum(15, rng.poisson(np.clip(0.3 + 0.05 * (age - 40), 0.2, None) + 0.9 * (program == 1)))
    prior_visits = rng.poisson(1.5 + 0.6 * comorbidity)
    prior_no_shows = rng.poisson(0.25 + 0.35 * vulnerable + 0.25 * (adi > 70) + 0.08 * prior_visits)
    portal = rng.random(n) < expit(0.9 - 0.035 * (age - 50) - 0.9 * (language > 0) - 0.012 * (adi - 50))
    oop_median = np.array([250.0, 120.0, 25.0, 900.0])[payer] * np.array([1.6, 1.0, 0.8])[program]
    oop = np.round(np.exp(rng.normal(np.log(oop_median), 0.5)), 2)
    prior_cost = np.round(np.exp(rng.normal(np.log(1800 * (1 + 0.35 * comorbidity)), 0.8)), 2)
    span_days = int(round(params.enrollment_months * 30.44))
    enrollment_day = as_of_day - rng.integers(0, span_days, n)
    return {
        "program_code": program, "age": age, "sex_code": sex, "race_code": race, "language_code": language,
        "non_english": (language > 0).astype(np.int64), "region_code": region, "site_code": site,
        "payer_code": payer, "vulnerable": vulnerable, "adi": adi.astype(np.int64), "distance_km": distance,
        "comorbidity_index": comorbidity.astype(np.int64), "prior_visits_12m": prior_visits.astype(np.int64),
        "prior_no_shows_12m": prior_no_shows.astype(np.int64), "portal_user": portal.astype(np.int64),
        "est_out_of_pocket": oop, "prior_allowed_cost_12m": prior_cost, "enrollment_day": enrollment_day,
    }


def _categorical(codes: np.ndarray, values: tuple) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(values))


def _patients_frame(attrs: dict, as_of_day: int) -> pd.DataFrame:
    n = len(attrs["age"])
    width = max(7, len(str(n)))
    return pd.DataFrame({
        "patient_id": pd.Series(np.char.add("P", np.char.zfill(np.arange(1, n + 1).astype(str), width))),
        "enrollment_date": EPOCH + attrs["enrollment_day"].astype("timedelta64[D]"),
        "program": _categorical(attrs["program_code"], PROGRAMS),
        "age": attrs["age"],
        "sex": _categorical(attrs["sex_code"], ("F", "M")),
        "race_ethnicity": _categorical(attrs["race_code"], RACE_ETHNICITIES),
        "language": _categorical(attrs["language_code"], LANGUAGES),
        "payer": _categorical(attrs["payer_code"], PAYERS),
        "region": _categorical(attrs["region_code"], REGIONS),
        "site": _categorical(attrs["site_code"], tuple(SITES)),
        "adi": attrs["adi"],
        "distance_km": attrs["distance_km"],
        "comorbidity_index": attrs["comorbidity_index"],
        "prior_no_shows_12m": attrs["prior_no_shows_12m"],
        "prior_visits_12m": attrs["prior_visits_12m"],
        "portal_user": attrs["portal_user"].astype(bool),
        "est_out_of_pocket": attrs["est_out_of_pocket"],
        "prior_allowed_cost_12m": attrs["prior_allowed_cost_12m"],
    })


def simulate(population: Population, draws: dict, params: GeneratorParams | None = None,
             levers: Levers | None = None) -> Simulation:
    """Simulate every patient's full journey (ignoring the as-of date)."""
    params = params or GeneratorParams()
    levers = levers or Levers()
    attrs = population.attrs
    program = attrs["program_code"]
    effect = tm.patient_effect(params, attrs)
    n = len(program)

    screen_window = tm.window_days(program, "screening")
    p_screen = tm.apply_probability_levers(tm.screening_probability(params, attrs, effect),
                                           shift=levers.screening_uptake_shift)
    screened = draws["screen_attend"] < p_screen
    screen_days = _screening_delay(params, program, screen_window, draws["screen_time"])
    screen_day = attrs["enrollment_day"] + screen_days
    positive = draws["screen_result"] < tm.positive_probability(params, attrs)
    stages = {"screening": {
        "indicated": np.ones(n, bool), "decision_day": attrs["enrollment_day"], "attended": screened,
        "day": screen_day, "result_flag": positive, "missed": np.zeros(n, bool),
        "lead": np.full(n, np.nan), "days": screen_days,
    }}
    # Navigation outreach: one draw per patient decides whether the navigator succeeds;
    # a navigated patient does not drop out at any stage still open at the as-of date.
    # So the lever cuts a contacted patient's dropout probability by exactly
    # `effectiveness` (relative).  (The treatment/follow-up outreach streams stay unused,
    # so the other streams keep their seeds.)
    outreach = _outreach_mask(population, levers) & (draws["diagnosis_outreach"] < levers.outreach_effectiveness)
    call_day = _what_if_call_days(population, levers)
    call_draws = _call_draws(draws, levers, n)
    previous = stages["screening"]
    indicated = screened & positive
    for stage in DECISION_STAGES:
        stages[stage] = _simulate_booked_stage(
            params, levers, attrs, effect, draws, stage, indicated, previous, screen_days, outreach,
            population.as_of_day, call_day, call_draws)
        previous = stages[stage]
        if stage == "diagnosis":
            confirmed = draws["diagnosis_result"] < tm.confirmed_probability(params, attrs)
            previous["result_flag"] = confirmed
            indicated = previous["attended"] & confirmed
        else:
            previous["result_flag"] = np.ones(n, bool)
            indicated = previous["attended"]
    return Simulation(population, stages)


def _screening_delay(params, program, window, u) -> np.ndarray:
    """Days from invitation to the screen: 7 + exponential truncated to the window."""
    mean = np.asarray([params.screening_mean_days[p] for p in PROGRAMS])[program]
    span = window - 7
    return 7 + np.floor(-mean * np.log1p(-u * (1 - np.exp(-span / mean)))).astype(np.int64)


def pilot_days(params: GeneratorParams, as_of_day: int) -> tuple[int, int]:
    """First and last day of the historical pilot (inclusive); sweeps every pilot_sweep_days from the first."""
    start = as_of_day - int(round(params.pilot_start_months_before * 30.44))
    end = as_of_day - int(round(params.pilot_end_months_before * 30.44))
    return start, end


def _what_if_call_days(population: Population, levers: Levers) -> np.ndarray:
    """Per patient: the day of a what-if call (Levers.calls), -1 for none."""
    days = np.full(len(population.patients), -1, dtype=np.int64)
    if not levers.calls:
        return days
    position = pd.Index(population.patients["patient_id"].to_numpy(dtype=object)).get_indexer(
        pd.Index(list(levers.calls), dtype=object))
    unknown = [pid for pid, pos in zip(levers.calls, position) if pos < 0]
    if unknown:
        raise ValueError(f"calls name patients not in the population: {unknown[:5]}")
    for pos, when in zip(position, levers.calls.values()):
        days[pos] = population.as_of_day + int(when) if isinstance(when, (int, np.integer)) else _day(when)
    return days


def _call_draws(draws: dict, levers: Levers, n: int) -> dict:
    """The call streams: the population's own, or fresh ones from `levers.call_draw_seed`."""
    if levers.call_draw_seed is None:
        return {name: draws[name] for name in CALL_DRAW_NAMES}
    rngs = _streams(int(levers.call_draw_seed), len(CALL_DRAW_NAMES))
    return {name: rng.random(n) for name, rng in zip(CALL_DRAW_NAMES, rngs)}


def _outreach_mask(population: Population, levers: Levers) -> np.ndarray:
    if not levers.outreach_patient_ids or levers.outreach_effectiveness <= 0:
        return np.zeros(len(population.patients), bool)
    return population.patients["patient_id"].isin(levers.outreach_patient_ids).to_numpy()


def _simulate_booked_stage(params, levers, attrs, effect, draws, stage, indicated, previous,
                           screen_days, outreach, as_of_day, what_if_call_day, call_draws) -> dict:
    window = tm.window_days(attrs["program_code"], stage)
    decision_day = previous["day"]
    lead = tm.lead_days_from_quantile(params, attrs, stage, draws[f"{stage}_lead"],
                                      scale=levers.lead_time_scale.get(stage, 1.0),
                                      cut_days=levers.lead_time_cut_days.get(stage, 0.0))
    logit = tm.attend_logit(params, attrs, effect, stage, lead, previous["missed"], screen_days)
    p_first = tm.apply_probability_levers(expit(logit), shift=levers.attendance_shift.get(stage, 0.0),
                                          odds_ratio=levers.attendance_odds_ratio.get(stage, 1.0))
    first = indicated & (draws[f"{stage}_attend"] < p_first)
    delay = tm.rebook_delay_days(params, draws[f"{stage}_rebook_delay"])
    rebooked = (indicated & ~first & (draws[f"{stage}_rebook"] < tm.rebook_probability(params, attrs, effect, stage))
                & (lead + delay <= window))
    day = decision_day + np.where(first, lead, lead + delay)
    attended = first | rebooked
    # Navigator calls (the pilot's and what-if ones) act on patients still waiting.
    calls = _place_calls(params, levers, draws, stage, indicated, decision_day, lead, window, attended, day,
                         as_of_day, what_if_call_day)
    call = _call_outcome(params, attrs, call_draws, stage, lead, decision_day, window, calls["call_day"])
    navigated = (calls["call_source"] > CALL_NONE) & call["navigated"] & ~attended
    day = np.where(navigated, call["navigated_day"], day)
    attended = attended | navigated
    # A patient the old uniform outreach lever navigates (see `simulate`) who would drop
    # out at a stage still open at the as-of date attends it late instead.
    still_open = decision_day + window >= as_of_day
    rescued = outreach & indicated & ~attended & still_open
    rescue_day = np.minimum(decision_day + window, np.maximum(decision_day + lead, as_of_day + 14))
    day = np.where(rescued, rescue_day, day).astype(np.int64)
    attended = attended | rescued
    return {"indicated": indicated, "decision_day": decision_day, "lead": lead, "attended": attended,
            "day": day, "missed": attended & ~first & ~(navigated & (day <= decision_day + lead)),
            "window": window, "first_attended": first, "navigated": navigated, **calls,
            **{f"call_{k}": v for k, v in call.items()}}


def _waiting_at(t, indicated, decision_day, window, attended, day) -> np.ndarray:
    """Still waiting for the stage on day t: indicated, decided, not attended yet, window open."""
    return indicated & (t >= decision_day) & np.where(attended, t < day, t <= decision_day + window)


def _place_calls(params, levers, draws, stage, indicated, decision_day, lead, window, attended, day,
                 as_of_day, what_if_call_day) -> dict:
    """Per patient: the day of the (first) call at this stage and who placed it."""
    n = len(indicated)
    call_day = np.full(n, -1, dtype=np.int64)
    source = np.zeros(n, dtype=np.int64)
    if levers.pilot:
        start, end = pilot_days(params, as_of_day)
        step = params.pilot_sweep_days
        first_sweep = start + step * np.ceil(np.maximum(0, decision_day - start) / step).astype(np.int64)
        in_pilot = (first_sweep <= end) & _waiting_at(first_sweep, indicated, decision_day, window, attended, day)
        random_arm = in_pilot & (draws[f"{stage}_pilot_random"] < params.pilot_random_share)
        overdue = decision_day + lead + params.pilot_staff_overdue_days
        staff_sweep = first_sweep + step * np.ceil(np.maximum(0, overdue - first_sweep) / step).astype(np.int64)
        staff = (in_pilot & ~random_arm & (staff_sweep <= end)
                 & _waiting_at(staff_sweep, indicated, decision_day, window, attended, day)
                 & (draws[f"{stage}_pilot_staff"] < params.pilot_staff_share))
        call_day = np.where(random_arm, first_sweep, np.where(staff, staff_sweep, call_day))
        source = np.where(random_arm, CALL_PILOT_RANDOM, np.where(staff, CALL_PILOT_STAFF, source))
    what_if = (what_if_call_day >= 0) & _waiting_at(what_if_call_day, indicated, decision_day, window, attended, day)
    take = what_if & ((call_day < 0) | (what_if_call_day < call_day))
    call_day = np.where(take, what_if_call_day, call_day)
    source = np.where(take, CALL_WHAT_IF, source)
    return {"call_day": call_day, "call_source": source}


def _call_outcome(params, attrs, call_draws, stage, lead, decision_day, window, call_day) -> dict:
    """What a call started on `call_day` does, for every patient (used where a call was placed)."""
    phone_ok = call_draws["phone_valid"] < tm.phone_valid_probability(params, attrs)
    attempt = tm.attempts_to_reach(params, tm.reach_attempt_probability(params, attrs),
                                   call_draws[f"{stage}_call_reach"])
    reached = phone_ok & (attempt <= params.call_attempts)
    reach_day = call_day + params.call_attempt_gap_days * (np.minimum(attempt, params.call_attempts) - 1)
    time_left = decision_day + window - reach_day >= params.rebook_room_days
    removable = call_draws[f"{stage}_call_remove"] < tm.removable_probability(params, attrs, stage, lead)
    attends = call_draws[f"{stage}_call_attend"] < params.navigated_attend_probability
    return {"phone_ok": phone_ok, "attempt": attempt, "reached": reached, "reach_day": reach_day,
            "time_left": time_left, "removable": removable,
            "navigated": reached & time_left & removable & attends,
            "navigated_day": tm.navigated_day(params, reach_day, decision_day + lead).astype(np.int64)}


def outcome_by_patient(sim: Simulation) -> np.ndarray:
    """Full-future pathway outcome per patient: 'completed', 'exited' or 'dropped_out'."""
    s = sim.stages
    exited = (s["screening"]["attended"] & ~s["screening"]["result_flag"]) | (
        s["diagnosis"]["attended"] & ~s["diagnosis"]["result_flag"])
    completed = s["follow_up"]["attended"]
    return np.where(completed, "completed", np.where(exited, "exited", "dropped_out"))


def events_table(sim: Simulation, params: GeneratorParams, draws: dict) -> pd.DataFrame:
    """The observable event log: stage events dated on or before the as-of date."""
    population = sim.population
    attrs = population.attrs
    program = attrs["program_code"]
    ids = population.patients["patient_id"].to_numpy()
    frames = []
    for i, stage in enumerate(STAGES):
        s = sim.stages[stage]
        seen = s["attended"] & (s["day"] <= population.as_of_day)
        idx = np.flatnonzero(seen)
        if stage == "screening":
            result = np.where(s["result_flag"][idx], "positive", "negative")
        elif stage == "diagnosis":
            result = np.where(s["result_flag"][idx], "confirmed", "ruled_out")
        else:
            result = np.full(len(idx), None, dtype=object)
        if i + 1 < len(STAGES):
            nxt = sim.stages[STAGES[i + 1]]
            booked = np.where(nxt["indicated"][idx], nxt["decision_day"][idx] + np.nan_to_num(nxt["lead"][idx]), -1)
        else:
            booked = np.full(len(idx), -1)
        median = np.asarray([params.event_cost_median[p][stage] for p in PROGRAMS])[program[idx]]
        from scipy.special import ndtri
        cost = np.round(median * np.exp(params.event_cost_log_sd * ndtri(draws[f"{stage}_cost"][idx])), 2)
        booked_dates = pd.to_datetime(np.where(booked >= 0, booked, 0).astype("int64"), unit="D")
        frames.append(pd.DataFrame({
            "patient_id": ids[idx],
            "stage": stage,
            "date": EPOCH + s["day"][idx].astype("timedelta64[D]"),
            "result": result,
            "site": population.patients["site"].to_numpy()[idx],
            "billed_cost": cost,
            "next_appointment_date": booked_dates.where(booked >= 0),
        }))
    events = pd.concat(frames, ignore_index=True)
    events["stage"] = pd.Categorical(events["stage"], categories=list(STAGES))
    events["site"] = pd.Categorical(events["site"], categories=list(SITES))
    order = np.lexsort((events["stage"].cat.codes.to_numpy(), events["patient_id"].to_numpy()))
    return events.iloc[order].reset_index(drop=True)


PILOT_COORDINATORS = ("A. Rivera", "J. Chen", "M. Okafor", "S. Patel", "L. Nguyen")
PILOT_NOTES = {CALL_PILOT_RANDOM: "pilot: randomised to a call", CALL_PILOT_STAFF: "pilot: staff pick (long overdue)"}


def outreach_table(sim: Simulation, params: GeneratorParams, draws: dict) -> pd.DataFrame:
    """The pilot's call log: one row per attempt dated on or before the as-of date.

    Attempts go `call_attempt_gap_days` apart until one reaches the patient (a wrong number
    ends the episode at once), the patient has attended, or the window has closed.
    """
    population = sim.population
    ids = population.patients["patient_id"].to_numpy()
    frames = []
    for stage_number, stage in enumerate(DECISION_STAGES):
        s = sim.stages[stage]
        pilot = np.isin(s["call_source"], list(PILOT_NOTES))
        failed = np.where(draws[f"{stage}_call_voicemail"] < params.voicemail_share, "left_message", "unreachable")
        agreed = s["call_removable"] & s["call_time_left"]
        for attempt in range(1, params.call_attempts + 1):
            day = s["call_day"] + params.call_attempt_gap_days * (attempt - 1)
            wrong = ~s["call_phone_ok"]
            made = pilot & (day <= population.as_of_day) & (day <= s["decision_day"] + s["window"])
            if attempt > 1:
                # The call before this one was made and did not end the episode, and the
                # patient has not attended in between.
                made &= ~wrong & (s["call_attempt"] >= attempt) & ~(s["attended"] & (s["day"] <= day))
            idx = np.flatnonzero(made)
            reached_now = s["call_reached"][idx] & (s["call_attempt"][idx] == attempt)
            disposition = np.where(wrong[idx], "wrong_number", np.where(
                reached_now, np.where(agreed[idx], "reached_rebooked", "reached_declined"), failed[idx]))
            frames.append(pd.DataFrame({
                "patient_id": ids[idx],
                "date": EPOCH + day[idx].astype("timedelta64[D]"),
                "awaited_stage": stage,
                "disposition": disposition,
                "source": "pilot",
                "coordinator": np.asarray(PILOT_COORDINATORS)[(idx * 7 + stage_number) % len(PILOT_COORDINATORS)],
                "note": np.where(s["call_source"][idx] == CALL_PILOT_RANDOM, PILOT_NOTES[CALL_PILOT_RANDOM],
                                 PILOT_NOTES[CALL_PILOT_STAFF]),
            }))
    log = pd.concat(frames, ignore_index=True)
    return log.sort_values(["date", "patient_id"], kind="stable").reset_index(drop=True)


def allowed_cost_to_date(patients: pd.DataFrame, events: pd.DataFrame) -> np.ndarray:
    billed = events.groupby("patient_id", sort=False, observed=True)["billed_cost"].sum()
    to_date = patients["patient_id"].map(billed).fillna(0.0).to_numpy()
    return np.round(patients["prior_allowed_cost_12m"].to_numpy() + to_date, 2)


__all__ = ["DEFAULT_AS_OF", "Population", "Simulation", "draw_population", "simulate",
           "events_table", "outreach_table", "outcome_by_patient", "pilot_days", "ALLOWED_WINDOW_DAYS"]
