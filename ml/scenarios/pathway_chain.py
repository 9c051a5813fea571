"""The pathway chain: each patient's chance of finishing the pathway, stage by stage, under levers.

From each patient's latest decision point: P(attend the awaited stage) × P(finish after
attending it) — the diagnosis confirms with the program's observed rate, and later
stages are met with the stage-attendance model (`ml.scenarios.attendance`) averaged over the lead
times actually booked for the patient's program and site.  Everything is computed for
the fitted coefficients and for draws from their covariance (set 0 is the fit).
No ground truth is used here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from data.pathway import DECISION_STAGES
from ml.scenarios.attendance import LONGEST_LEAD, WAIT, AttendanceModel

LEAD_QUANTILES = 7  # later stages' booked waits are averaged over this many quantiles
BASELINE_BLOCK = 200_000  # patients whose logits and baseline odds are computed at once
AHEAD = DECISION_STAGES[1:]  # stages that can still lie ahead of a decision point


def shortened_lead(lead: np.ndarray, cut, floor: float) -> np.ndarray:
    """Booked lead time after removing `cut` (a fraction, scalar or per row) of it, in whole
    days and never below `floor`; unchanged where the cut is 0."""
    lead = np.asarray(lead, dtype=float)
    return np.where(np.asarray(cut) > 0, np.maximum(floor, np.rint(lead * (1 - np.asarray(cut)))), lead)


def made_up_share(resolved: pd.DataFrame, by: list) -> pd.Series:
    """Share of missed first appointments made up within the window, per group of `by` columns.

    From decision points whose window has closed: attended after the booked date (made
    up) vs never attended.  It turns 'more attend their first appointment' into more
    attending at all: a patient who would have made it up gains nothing."""
    attended = resolved["next_stage_date"].notna()
    late = attended & (resolved["next_stage_date"] > resolved["booked_date"])
    missed_first = (late | ~attended).to_numpy()
    keys = [resolved.loc[missed_first, column].astype(str) for column in by]
    return late[missed_first].astype(float).groupby(keys).mean()


def booked_lead_quantiles(patients: pd.DataFrame, at_stage: pd.DataFrame, probs: np.ndarray) -> np.ndarray:
    """(patients, len(probs)) quantiles of the leads booked at a stage for each patient's program
    and site; the program's where the site has none, all bookings' where the program has none."""
    program, site = at_stage["program"].astype(str), at_stage["site"].astype(str)
    by_site = {key: np.quantile(g.dropna(), probs) for key, g in at_stage[WAIT].groupby([program, site])
               if g.notna().any()}
    by_program = {key: np.quantile(g.dropna(), probs) for key, g in at_stage[WAIT].groupby(program)
                  if g.notna().any()}
    overall = (np.nanquantile(at_stage[WAIT], probs) if at_stage[WAIT].notna().any()
               else np.full(len(probs), np.nan))
    out = np.empty((len(patients), len(probs)))
    keys = pd.MultiIndex.from_arrays([patients["program"].astype(str), patients["site"].astype(str)])
    codes, uniques = pd.factorize(keys)
    for code, (prog, site_name) in enumerate(uniques):
        out[codes == code] = by_site.get((prog, site_name), by_program.get(prog, overall))
    return out


def _days(lead: np.ndarray) -> np.ndarray:
    """Whole days for the wait tables; a lead nobody ever booked (NaN) reads day 0."""
    return np.clip(np.rint(np.nan_to_num(lead, nan=0.0)), 0, LONGEST_LEAD).astype(np.int64)


class PathwayChain:
    """P(attend the awaited stage) and P(finish after it) per patient, under the levers.

    `latest` holds each patient's latest decision-day row (the stage they await or last
    awaited); `all_rows` every decision-day row (booked leads per program, site and stage;
    the share of decisions that followed a missed booking), `resolved` marks those whose
    window has closed (how often a missed first appointment is made up in time).

    Levers: `cuts` (stage -> fraction of the booked wait removed) and `first_visit_pp`
    (stage -> extra share of patients attending their first booked appointment; of those
    who would have missed it, the ones who would have rebooked in time gain nothing).
    Results are (coefficient sets, patients): set 0 is the fitted model, then `draws`."""

    def __init__(self, model: AttendanceModel, latest: pd.DataFrame, all_rows: pd.DataFrame, resolved: np.ndarray,
                 confirmed_share: dict, lead_floor: float, draws: int = 0, seed: int = 0):
        self.lead_floor = lead_floor
        coefficient_sets = model.coefficient_sets(draws, seed)
        self.tables = model.wait_tables(coefficient_sets).astype(np.float32)
        latest = latest.assign(**{WAIT: self._leads_or_typical(latest, all_rows)})
        self.stage = latest["awaiting_stage"].astype(str).to_numpy()
        # The stage each patient awaits as masks: comparing strings on every slider move is slow.
        self._awaits = {stage: self.stage == stage for stage in DECISION_STAGES}
        self.lead = latest[WAIT].to_numpy(float)
        self.level = model.level_index(latest)
        self.logit_now = _patient_logits(model, latest, coefficient_sets)
        program = latest["program"].astype(str)
        self.confirmed = program.map(confirmed_share).fillna(0.0).to_numpy(float)
        made_up = made_up_share(all_rows[resolved], ["awaiting_stage", "program"])
        # Looked up once per program, not per patient (a MultiIndex look-up each: 9 s at 1M patients);
        # a missing program keeps its own code (the default sentinel -1 would read the last program's).
        codes, programs = pd.factorize(program, use_na_sentinel=False)
        self.not_made_up = {stage: 1 - np.asarray([made_up.get((stage, p), 0.0) for p in programs], dtype=float)[codes]
                            for stage in DECISION_STAGES}
        self.ahead = {stage: self._stage_ahead(model, coefficient_sets, latest, all_rows, stage) for stage in AHEAD}
        # The wait tables as (sets, level × day), so a look-up is one `take` per row of indices.
        self._flat_tables = self.tables.reshape(self.tables.shape[0], -1)

    @property
    def n_sets(self) -> int:
        return self.tables.shape[0]

    @staticmethod
    def _leads_or_typical(latest: pd.DataFrame, all_rows: pd.DataFrame) -> np.ndarray:
        """Booked leads, with the typical one (median for program and site) where no date was booked."""
        lead = latest[WAIT].to_numpy(float).copy()
        for stage in DECISION_STAGES:
            missing = np.isnan(lead) & (latest["awaiting_stage"].astype(str) == stage).to_numpy()
            if missing.any():
                at_stage = all_rows[all_rows["awaiting_stage"].astype(str) == stage]
                lead[missing] = booked_lead_quantiles(latest[missing], at_stage, np.array([0.5]))[:, 0]
        return lead

    @staticmethod
    def _stage_ahead(model, coefficient_sets, latest: pd.DataFrame, all_rows: pd.DataFrame, stage: str) -> dict:
        """A later stage as the patient would meet it: logit part and booked-lead quantiles."""
        at_stage = all_rows[all_rows["awaiting_stage"].astype(str) == stage]
        missed_share = at_stage.groupby(at_stage["program"].astype(str))["missed_previous_appointment"].mean()
        template = latest.assign(
            awaiting_stage=stage,
            missed_previous_appointment=latest["program"].astype(str).map(missed_share).fillna(0.0).to_numpy(float),
            previous_stage_days=latest[WAIT].to_numpy(float),
            days_since_enrollment=latest["days_since_enrollment"].to_numpy(float) + latest[WAIT].to_numpy(float),
        )
        probs = (np.arange(LEAD_QUANTILES) + 0.5) / LEAD_QUANTILES
        return {"logit": _patient_logits(model, template, coefficient_sets),
                "level": model.level_index(template), "leads": booked_lead_quantiles(latest, at_stage, probs)}

    def odds(self, cuts: dict, first_visit_pp: dict, at: np.ndarray, sets: np.ndarray) -> "StageOdds":
        """Attendance at the awaited stage and at the stages ahead for the patients at `at`."""
        treatment, follow_up = (self._attend_ahead(stage, cuts.get(stage, 0.0), first_visit_pp.get(stage, 0.0),
                                                   at, sets) for stage in AHEAD)
        return StageOdds(self._attend_now(cuts, first_visit_pp, at, sets), treatment, follow_up)

    def baseline(self, sets: np.ndarray, block: int | None = None) -> "StageOdds":
        """``odds({}, {}, every patient, sets)`` as float32, computed ``block`` patients at a time.

        Each patient's odds depend on that patient alone, so the blocks give the same numbers as one
        call; one call holds (sets, lead quantiles, patients) intermediates for every patient at
        once: ~2 GB a stage ahead at 10M patients."""
        n, block = len(self.stage), block or BASELINE_BLOCK
        parts = [self.odds({}, {}, np.arange(start, min(start + block, n)), sets).compact()
                 for start in range(0, n, block)] or [self.odds({}, {}, np.arange(0), sets).compact()]
        return StageOdds(*(np.concatenate([getattr(part, name) for part in parts], axis=1)
                           for name in ("attend", "treatment", "follow_up")))

    def _wait_terms(self, sets: np.ndarray, level: np.ndarray, days: np.ndarray) -> np.ndarray:
        """(sets, *days.shape) wait terms of the logit: tables[set, level, day] per patient (level
        per patient, the last axis of ``days``)."""
        index = level * self.tables.shape[2] + days
        if len(sets) == self.n_sets and (sets == np.arange(self.n_sets)).all():
            return np.take(self._flat_tables, index, axis=1)
        return np.take(self._flat_tables[sets], index, axis=1)

    def _attend_now(self, cuts: dict, first_visit_pp: dict, at: np.ndarray, sets: np.ndarray) -> np.ndarray:
        cut, extra = np.zeros(len(at)), np.zeros(len(at))
        for name in DECISION_STAGES:
            here = self._awaits[name][at]
            cut[here] = cuts.get(name, 0.0)
            extra[here] = first_visit_pp.get(name, 0.0) * self.not_made_up[name][at][here]
        days = _days(shortened_lead(self.lead[at], cut, self.lead_floor))
        logits = self._wait_terms(sets, self.level[at], days)
        logits += self.logit_now[sets[:, None], at[None, :]]
        return np.clip(expit(logits, out=logits) + extra, 0.0, 1.0)

    def _attend_ahead(self, stage: str, cut: float, first_visit_pp: float, at: np.ndarray,
                      sets: np.ndarray) -> np.ndarray:
        """Mean over the booked-lead quantiles of P(attending ``stage``), (sets, patients): the
        arithmetic of clip(expit(logit + wait) + extra, 0, 1).mean(axis=quantiles), done in place
        with the quantiles as the middle axis, so the mean is a few whole-array additions.  The
        additions run in numpy's order for a short axis (one after the other, from the first),
        so the values are the same to the last bit.  Without a first-visit lever the addition
        of zero and the clip change nothing (expit is within [0, 1]) and are skipped."""
        ahead = self.ahead[stage]
        days = _days(shortened_lead(ahead["leads"][at], cut, self.lead_floor))
        attend = self._wait_terms(sets, ahead["level"][at], days.T)  # (sets, quantiles, patients)
        attend += ahead["logit"][sets[:, None], at[None, :]][:, None, :]
        expit(attend, out=attend)
        if first_visit_pp:
            attend = attend + (first_visit_pp * self.not_made_up[stage][at])[None, None, :]
            np.clip(attend, 0.0, 1.0, out=attend)
        total = attend[:, 0].astype(np.float64)
        for quantile in range(1, attend.shape[1]):
            total += attend[:, quantile]
        total /= attend.shape[1]
        return total

    def reached(self, weight: np.ndarray, odds: "StageOdds", at: np.ndarray) -> np.ndarray:
        """(4, sets, patients): P(diagnosed, confirmed, treated, followed up) for patients who attend
        their awaited stage with probability `weight` and meet the stages ahead with `odds`."""
        confirmed = self.confirmed[at]
        ones = np.ones_like(weight)
        from_diagnosis = (weight, weight * confirmed, weight * confirmed * odds.treatment,
                          weight * confirmed * odds.treatment * odds.follow_up)
        from_treatment = (ones, ones, weight, weight * odds.follow_up)
        from_follow_up = (ones, ones, ones, weight)
        at_diagnosis, at_treatment = self._awaits["diagnosis"][at], self._awaits["treatment"][at]
        return np.stack([np.where(at_diagnosis, d, np.where(at_treatment, t, f))
                         for d, t, f in zip(from_diagnosis, from_treatment, from_follow_up)])

    def continuation(self, odds: "StageOdds", at: np.ndarray) -> np.ndarray:
        """(sets, patients): P(no dropout after attending the awaited stage)."""
        confirmed = self.confirmed[at]
        after_diagnosis = (1 - confirmed) + confirmed * odds.treatment * odds.follow_up
        return np.where(self._awaits["diagnosis"][at], after_diagnosis,
                        np.where(self._awaits["treatment"][at], odds.follow_up, 1.0))


def _patient_logits(model: AttendanceModel, frame: pd.DataFrame, coefficient_sets: np.ndarray) -> np.ndarray:
    """(sets, rows) float32: ``model.patient_logits`` of ``frame``, its design matrix built
    BASELINE_BLOCK rows at a time (each row's logits are its own: the same numbers). At 10M
    patients the whole design (dense wait splines, then sparse with the intercept) and its float64
    logits took ~6 GB at once on top of the served state."""
    if len(frame) <= BASELINE_BLOCK:
        return model.patient_logits(model.design(frame), coefficient_sets).astype(np.float32)
    return np.concatenate([model.patient_logits(model.design(frame.iloc[start:start + BASELINE_BLOCK]),
                                                coefficient_sets).astype(np.float32)
                           for start in range(0, len(frame), BASELINE_BLOCK)], axis=1)


@dataclass
class StageOdds:
    """(coefficient sets, patients) probabilities: attending the awaited stage, and attending
    treatment and follow-up should they lie ahead."""
    attend: np.ndarray
    treatment: np.ndarray
    follow_up: np.ndarray

    def take(self, sets: np.ndarray, at: np.ndarray) -> "StageOdds":
        return StageOdds(*(values[sets[:, None], at[None, :]].astype(float)
                           for values in (self.attend, self.treatment, self.follow_up)))

    def compact(self) -> "StageOdds":
        return StageOdds(*(values.astype(np.float32) for values in (self.attend, self.treatment, self.follow_up)))
