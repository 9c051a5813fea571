"""Oracle dropout probabilities from the generator's own parameters.

At a decision point the patient is awaiting `stage` with a booked lead time.  The
true probability of dropping out before completing the pathway integrates over
everything not yet observable: whether they attend (first time or after a
rebooking), the result of a diagnosis, the lead times of later stages (quadrature
over their lognormal quantiles) and later attendance.  Noise is independent per
transition, so the result is exact up to the quadrature.

These values are yardsticks for tests and reports; they never reach a model.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from data.synthetic import transition_model as tm
from data.synthetic.generator import EPOCH, Simulation, outcome_by_patient
from data.synthetic.params import SITES, GeneratorParams
from data.pathway import DECISION_STAGES, STAGES
from data.schema import LANGUAGES, PAYERS, PROGRAMS, RACE_ETHNICITIES, REGIONS

QUADRATURE_NODES = 48


def attrs_from_patients(patients: pd.DataFrame) -> dict:
    """Rebuild the generator's attribute arrays from a patients table."""
    def codes(column, values):
        return pd.Categorical(patients[column].astype(str), categories=list(values)).codes.astype(np.int64)

    payer = codes("payer", PAYERS)
    language = codes("language", LANGUAGES)
    return {
        "program_code": codes("program", PROGRAMS), "age": patients["age"].to_numpy(np.float64),
        "race_code": codes("race_ethnicity", RACE_ETHNICITIES), "region_code": codes("region", REGIONS),
        "site_code": codes("site", tuple(SITES)), "payer_code": payer,
        "vulnerable": np.isin(payer, [PAYERS.index("Medicaid"), PAYERS.index("Uninsured")]),
        "non_english": (language > 0).astype(np.int64), "adi": patients["adi"].to_numpy(np.float64),
        "distance_km": patients["distance_km"].to_numpy(np.float64),
        "prior_no_shows_12m": patients["prior_no_shows_12m"].to_numpy(np.float64),
        "portal_user": patients["portal_user"].to_numpy().astype(np.int64),
        "comorbidity_index": patients["comorbidity_index"].to_numpy(np.float64),
        "est_out_of_pocket": patients["est_out_of_pocket"].to_numpy(np.float64),
    }


def _stage_success_parts(params, attrs, effect, stage, lead, missed_previous, screen_days):
    """(P attend first time, P attend after a rebooking) for a booked stage."""
    window = tm.window_days(attrs["program_code"], stage)
    p_first = expit(tm.attend_logit(params, attrs, effect, stage, lead, missed_previous, screen_days))
    p_rebook = tm.rebook_probability(params, attrs, effect, stage)
    p_late = (1 - p_first) * p_rebook * (1 - tm.rebook_survival(params, window - lead))
    return p_first, p_late


def stage_attendance_probability(params: GeneratorParams, attrs: dict, stage: np.ndarray, lead_days: np.ndarray,
                                 missed_previous: np.ndarray, screen_days: np.ndarray) -> np.ndarray:
    """True P(the awaited stage happens within its window: first time or after a rebooking)."""
    effect = tm.patient_effect(params, attrs)
    stage = np.asarray(stage)
    result = np.full(stage.shape, np.nan)
    for name in DECISION_STAGES:
        rows = stage == name
        if rows.any():
            first, late = _stage_success_parts(
                params, {k: v[rows] for k, v in attrs.items()}, effect[rows], name,
                np.asarray(lead_days, dtype=np.float64)[rows], np.asarray(missed_previous, dtype=np.float64)[rows],
                np.asarray(screen_days, dtype=np.float64)[rows])
            result[rows] = first + late
    return result


def _expected_over_lead(params, attrs, stage, fn):
    total = 0.0
    for g in range(QUADRATURE_NODES):
        u = np.full(len(attrs["age"]), (g + 0.5) / QUADRATURE_NODES)
        total = total + fn(tm.lead_days_from_quantile(params, attrs, stage, u))
    return total / QUADRATURE_NODES


class _Continuation:
    """P(complete or exit appropriately | stage attended, missed flag), per patient."""

    def __init__(self, params: GeneratorParams, attrs: dict, effect: np.ndarray):
        self.params, self.attrs, self.effect = params, attrs, effect
        n = len(attrs["age"])
        self._follow = {m: self._value("follow_up", np.full(n, m), lambda _m: 1.0) for m in (0, 1)}
        self._treat = {m: self._value("treatment", np.full(n, m), lambda mm: self._follow[mm]) for m in (0, 1)}
        p_confirmed = tm.confirmed_probability(params, attrs)
        self.after = {
            "follow_up": {0: 1.0, 1: 1.0},
            "treatment": self._follow,
            "diagnosis": {m: (1 - p_confirmed) + p_confirmed * self._treat[m] for m in (0, 1)},
        }

    def _value(self, stage, missed_previous, after):
        def at_lead(lead):
            first, late = _stage_success_parts(self.params, self.attrs, self.effect, stage, lead,
                                               missed_previous, None)
            return first * after(0) + late * after(1)
        return _expected_over_lead(self.params, self.attrs, stage, at_lead)


def dropout_probability(params: GeneratorParams, attrs: dict, stage: np.ndarray, lead_days: np.ndarray,
                        missed_previous: np.ndarray, screen_days: np.ndarray,
                        waited_days: np.ndarray | float = 0.0) -> np.ndarray:
    """True P(drop out before completing the pathway) for patients awaiting `stage`.

    `waited_days` > 0 conditions on the stage not having happened yet after that many
    days (a landmark): past the booked date, that means the first appointment was missed.
    """
    effect = tm.patient_effect(params, attrs)
    cont = _Continuation(params, attrs, effect)
    stage = np.asarray(stage)
    waited = np.broadcast_to(np.asarray(waited_days, dtype=np.float64), stage.shape)
    lead = np.asarray(lead_days, dtype=np.float64)
    result = np.full(stage.shape, np.nan)
    for name in DECISION_STAGES:
        rows = stage == name
        if not rows.any():
            continue
        sub = {k: v[rows] for k, v in attrs.items()}
        sub_effect = effect[rows]
        q0 = _take(cont.after[name][0], rows)
        q1 = _take(cont.after[name][1], rows)
        first, late = _stage_success_parts(params, sub, sub_effect, name, lead[rows],
                                           np.asarray(missed_previous, dtype=np.float64)[rows],
                                           np.asarray(screen_days, dtype=np.float64)[rows])
        ok_before_booking = first * q0 + late * q1
        # Landmark past the booked date with no visit: only a rebooking can still come.
        window = tm.window_days(sub["program_code"], name)
        since_booking = waited[rows] - lead[rows]
        p_rebook = tm.rebook_probability(params, sub, sub_effect, name)
        alive = tm.rebook_survival(params, since_booking)
        still_possible = p_rebook * np.maximum(0.0, alive - tm.rebook_survival(params, window - lead[rows]))
        ok_after_miss = still_possible / ((1 - p_rebook) + p_rebook * alive) * q1
        ok = np.where(since_booking >= 0, ok_after_miss, ok_before_booking)
        result[rows] = 1 - ok
    return np.clip(result, 0.0, 1.0)


def call_effect(params: GeneratorParams, attrs: dict, stage: np.ndarray, lead_days: np.ndarray,
                missed_previous: np.ndarray, screen_days: np.ndarray, waited_days: np.ndarray) -> dict:
    """Exact effect of a navigator's call started `waited_days` after the decision point on a
    patient still waiting for `stage` then (not attended yet, window open).

    Returns arrays: `completion` (P(not dropping out) without a call), `gain` (its increase
    from the call), `stage_attendance` and `stage_gain` (the same for attending the awaited
    stage within its window).  The call helps only a patient who would otherwise miss the
    stage, and only if it reaches them (working number, one of `call_attempts` attempts),
    their barrier is removable, at least `rebook_room_days` remain in the window after the
    reaching attempt, and they then attend; the phone latent is averaged over.
    """
    effect = tm.patient_effect(params, attrs)
    cont = _Continuation(params, attrs, effect)
    stage = np.asarray(stage)
    lead = np.asarray(lead_days, dtype=np.float64)
    waited = np.broadcast_to(np.asarray(waited_days, dtype=np.float64), stage.shape)
    out = {k: np.full(stage.shape, np.nan) for k in ("completion", "gain", "stage_attendance", "stage_gain")}
    for name in DECISION_STAGES:
        rows = stage == name
        if not rows.any():
            continue
        sub = {k: v[rows] for k, v in attrs.items()}
        sub_effect, sub_lead, sub_waited = effect[rows], lead[rows], waited[rows]
        q0, q1 = _take(cont.after[name][0], rows), _take(cont.after[name][1], rows)
        first, late = _stage_success_parts(params, sub, sub_effect, name, sub_lead,
                                           np.asarray(missed_previous, dtype=np.float64)[rows],
                                           np.asarray(screen_days, dtype=np.float64)[rows])
        window = tm.window_days(sub["program_code"], name)
        since_booking = sub_waited - sub_lead
        p_rebook = tm.rebook_probability(params, sub, sub_effect, name)
        alive = tm.rebook_survival(params, since_booking)
        after_miss = p_rebook * np.maximum(0.0, alive - tm.rebook_survival(params, window - sub_lead)) / (
            (1 - p_rebook) + p_rebook * alive)
        before = since_booking < 0
        attend = np.where(before, first + late, after_miss)
        ok = np.where(before, first * q0 + late * q1, after_miss * q1)
        p_phone = tm.phone_valid_probability(params, sub)
        p_attempt = tm.reach_attempt_probability(params, sub)
        helped_stage = np.zeros(int(rows.sum()))
        helped_path = np.zeros(int(rows.sum()))
        for attempt in range(1, params.call_attempts + 1):
            reached_now = p_phone * (1 - p_attempt) ** (attempt - 1) * p_attempt
            elapsed = sub_waited + params.call_attempt_gap_days * (attempt - 1)
            in_time = window - elapsed >= params.rebook_room_days
            after = np.where(elapsed >= sub_lead, q1, q0)  # reached on/after the booked day: a missed booking
            helped_stage += reached_now * in_time
            helped_path += reached_now * in_time * after
        converts = (1 - attend) * tm.removable_probability(params, sub, name, sub_lead) * \
            params.navigated_attend_probability
        out["completion"][rows] = ok
        out["gain"][rows] = converts * helped_path
        out["stage_attendance"][rows] = attend
        out["stage_gain"][rows] = converts * helped_stage
    return out


def _take(value, rows):
    return value[rows] if isinstance(value, np.ndarray) else np.full(int(rows.sum()), value)


def ground_truth_table(sim: Simulation, params: GeneratorParams) -> pd.DataFrame:
    """One row per observed decision point: true dropout probability and realised outcome."""
    population = sim.population
    attrs, as_of_day = population.attrs, population.as_of_day
    will_drop = outcome_by_patient(sim) == "dropped_out"
    screen_days = sim.stages["screening"]["days"].astype(np.float64)
    parts = []
    previous = STAGES[0]
    for stage in DECISION_STAGES:
        s = sim.stages[stage]
        idx = np.flatnonzero(s["indicated"] & (s["decision_day"] <= as_of_day))
        parts.append((stage, idx, s["lead"][idx], sim.stages[previous]["missed"][idx], s["decision_day"][idx]))
        previous = stage
    idx = np.concatenate([p[1] for p in parts])
    stage = np.concatenate([np.full(len(p[1]), p[0], dtype=object) for p in parts])
    sub = {k: v[idx] for k, v in attrs.items()}
    probability = dropout_probability(
        params, sub, stage.astype(str), np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]).astype(np.float64), screen_days[idx])
    decision_day = np.concatenate([p[4] for p in parts])
    lead = np.concatenate([p[2] for p in parts])
    missed_previous = np.concatenate([p[3] for p in parts]).astype(np.float64)
    # In progress and awaiting the stage on the as-of date: what a call today would change.
    waiting = np.zeros(len(idx), bool)
    start = 0
    for stage_name, stage_idx, *_ in parts:
        s = sim.stages[stage_name]
        waiting[start:start + len(stage_idx)] = (
            ~(s["attended"][stage_idx] & (s["day"][stage_idx] <= as_of_day))
            & (s["decision_day"][stage_idx] + s["window"][stage_idx] >= as_of_day))
        start += len(stage_idx)
    gain = np.full(len(idx), np.nan)
    completion = np.full(len(idx), np.nan)
    if waiting.any():
        w = np.flatnonzero(waiting)
        effect = call_effect(params, {k: v[w] for k, v in sub.items()}, stage[w].astype(str), lead[w],
                             missed_previous[w], screen_days[idx][w], as_of_day - decision_day[w])
        gain[w], completion[w] = effect["gain"], effect["completion"]
    table = pd.DataFrame({
        "patient_id": population.patients["patient_id"].to_numpy()[idx],
        "decision_stage": stage.astype(str),
        "decision_date": EPOCH + decision_day.astype("timedelta64[D]"),
        "true_dropout_probability": probability,
        "will_drop_out": will_drop[idx],
        "true_completion_probability": completion,
        "true_call_gain": gain,
    })
    return table.sort_values(["patient_id", "decision_date"], kind="stable").reset_index(drop=True)
