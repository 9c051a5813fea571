"""The generator's structural model of attendance, lead times and results.

One source of truth used both to *simulate* journeys and to compute the *oracle*
(true) dropout probabilities, so the two cannot drift apart.  All functions are
vectorised over patients (numpy arrays).
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit, ndtri

from data.synthetic.params import SITES, GeneratorParams
from data.pathway import ALLOWED_WINDOW_DAYS
from data.schema import PAYERS, PROGRAMS

SITE_NAMES = tuple(SITES)


def patient_effect(params: GeneratorParams, attrs: dict) -> np.ndarray:
    """Stage-independent part of the attendance logit, from attributes known at enrollment."""
    age_z = (attrs["age"] - 58.0) / 15.0
    payer = np.asarray([params.payer_effect[p] for p in PAYERS])[attrs["payer_code"]]
    site = np.asarray([params.site_effect[s] for s in SITE_NAMES])[attrs["site_code"]]
    return (
        params.age_u_shape * age_z**2
        + payer
        + params.adi_effect * (attrs["adi"] - 50.0) / 25.0
        + params.distance_effect * np.log1p(attrs["distance_km"] / 10.0)
        + params.no_show_effect * np.minimum(attrs["prior_no_shows_12m"], 5)
        + params.portal_effect * attrs["portal_user"]
        + params.non_english_effect * attrs["non_english"]
        + params.comorbidity_effect * attrs["comorbidity_index"]
        + params.oop_effect * np.log1p(attrs["est_out_of_pocket"] / 250.0)
        + site
    )


def is_vulnerable_payer(attrs: dict) -> np.ndarray:
    return np.isin(attrs["payer_code"], [PAYERS.index("Medicaid"), PAYERS.index("Uninsured")])


def lead_term(params: GeneratorParams, stage: str, lead_days: np.ndarray, vulnerable: np.ndarray) -> np.ndarray:
    """Hinge in the booked wait, felt more strongly by Medicaid/uninsured patients."""
    excess = np.maximum(0.0, lead_days - params.lead_free_days[stage]) / 14.0
    return params.lead_effect * excess * np.where(vulnerable, params.lead_vulnerable_multiplier, 1.0)


def window_days(program_code: np.ndarray, stage: str) -> np.ndarray:
    return np.asarray([ALLOWED_WINDOW_DAYS[p][stage] for p in PROGRAMS])[program_code]


def lead_days_from_quantile(params: GeneratorParams, attrs: dict, stage: str, u: np.ndarray,
                            scale: float = 1.0, cut_days: float = 0.0) -> np.ndarray:
    """Booked lead time for a uniform draw `u`; `scale`/`cut_days` are what-if levers."""
    median = np.asarray([params.lead_median_days[p][stage] for p in PROGRAMS])[attrs["program_code"]]
    site_mult = np.asarray([SITES[s][1] for s in SITE_NAMES])[attrs["site_code"]]
    raw = np.exp(np.log(median * site_mult) + params.lead_log_sd * ndtri(u))
    cap = window_days(attrs["program_code"], stage) - params.rebook_room_days
    lead = np.clip(np.rint(raw), params.lead_min_days, cap)
    if scale != 1.0 or cut_days:
        lead = np.maximum(params.lead_min_days, np.rint(lead * scale - cut_days))
    return lead


def attend_logit(params: GeneratorParams, attrs: dict, effect: np.ndarray, stage: str,
                 lead_days: np.ndarray, missed_previous: np.ndarray | None,
                 screen_days: np.ndarray | None) -> np.ndarray:
    """Logit of attending the first booked appointment for `stage`."""
    base = np.asarray([params.attend_logit[p][stage] for p in PROGRAMS])[attrs["program_code"]]
    logit = base + effect + lead_term(params, stage, lead_days, attrs["vulnerable"])
    if stage == "diagnosis":
        logit = logit + params.slow_screen_effect * np.log1p(screen_days / 30.0)
    else:
        logit = logit + params.missed_previous_effect * missed_previous
    return logit


def rebook_probability(params: GeneratorParams, attrs: dict, effect: np.ndarray, stage: str) -> np.ndarray:
    return expit(params.rebook_logit[stage] + params.rebook_portal_effect * attrs["portal_user"] + 0.5 * effect)


def rebook_delay_days(params: GeneratorParams, u: np.ndarray) -> np.ndarray:
    """Days from the missed appointment to the rebooked one (shifted exponential)."""
    return np.rint(params.rebook_min_days - params.rebook_mean_extra_days * np.log1p(-u))


def rebook_survival(params: GeneratorParams, days: np.ndarray) -> np.ndarray:
    """P(rebook delay > days), consistent with `rebook_delay_days` rounding."""
    # delay = rint(m + X), X ~ Exp(mean): delay > d  <=>  m + X >= d + 0.5
    x = np.maximum(0.0, days + 0.5 - params.rebook_min_days)
    return np.exp(-x / params.rebook_mean_extra_days)


def apply_probability_levers(p: np.ndarray, shift: float = 0.0, odds_ratio: float = 1.0) -> np.ndarray:
    if odds_ratio != 1.0:
        odds = p / np.maximum(1e-12, 1 - p) * odds_ratio
        p = odds / (1 + odds)
    if shift:
        p = np.clip(p + shift, 0.0, 1.0)
    return p


def positive_probability(params: GeneratorParams, attrs: dict) -> np.ndarray:
    base = np.asarray([params.positive_logit[p] for p in PROGRAMS])[attrs["program_code"]]
    return expit(base + 0.012 * (attrs["age"] - 55.0) + 0.06 * attrs["comorbidity_index"])


def confirmed_probability(params: GeneratorParams, attrs: dict) -> np.ndarray:
    base = np.asarray([params.confirmed_logit[p] for p in PROGRAMS])[attrs["program_code"]]
    return expit(base + 0.01 * (attrs["age"] - 55.0))


def screening_probability(params: GeneratorParams, attrs: dict, effect: np.ndarray) -> np.ndarray:
    base = np.asarray([params.screening_logit[p] for p in PROGRAMS])[attrs["program_code"]]
    return expit(base + effect)


# --------------------------------------------------------------------------- navigator calls


def phone_valid_probability(params: GeneratorParams, attrs: dict) -> np.ndarray:
    """P(the number on file reaches the patient at all): a latent the log shows as wrong numbers."""
    return expit(params.phone_valid_logit + params.phone_valid_vulnerable_effect * is_vulnerable_payer(attrs)
                 + params.phone_valid_adi_effect * (attrs["adi"] - 50.0) / 25.0)


def reach_attempt_probability(params: GeneratorParams, attrs: dict) -> np.ndarray:
    """P(one attempt on a working number reaches the patient)."""
    return expit(params.reach_logit + params.reach_non_english_effect * attrs["non_english"]
                 + params.reach_portal_effect * attrs["portal_user"]
                 + params.reach_no_show_effect * np.minimum(attrs["prior_no_shows_12m"], 5))


def removable_probability(params: GeneratorParams, attrs: dict, stage: str, lead_days: np.ndarray) -> np.ndarray:
    """P(a reached patient's barrier is one the navigator can remove), by the barriers present."""
    long_wait = np.asarray(lead_days, dtype=np.float64) > params.lead_free_days[stage]
    cost = ((attrs["est_out_of_pocket"] > params.cost_barrier_out_of_pocket)
            | (attrs["distance_km"] > params.cost_barrier_distance_km) | is_vulnerable_payer(attrs))
    stays = ((1 - params.remove_wait_probability * long_wait) * (1 - params.remove_cost_probability * cost)
             * (1 - params.remove_reminder_probability))
    return 1 - stays


def attempts_to_reach(params: GeneratorParams, p_attempt: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The attempt (1, 2, ...) that reaches a patient on a working number, from one uniform draw:
    geometric by inversion, so one stream decides every attempt."""
    p = np.clip(p_attempt, 1e-9, 1 - 1e-9)
    return (np.floor(np.log1p(-u) / np.log1p(-p)) + 1).astype(np.int64)


def navigated_day(params: GeneratorParams, reach_day: np.ndarray, booked_day: np.ndarray) -> np.ndarray:
    """Day a navigated patient attends: an earlier slot if the booking is further off, else the
    booking itself; after a missed booking, `navigated_lead_days` after the call."""
    soon = reach_day + params.navigated_lead_days
    return np.where(reach_day < booked_day, np.minimum(booked_day, soon), soon)
