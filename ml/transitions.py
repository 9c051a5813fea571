"""Stage-attendance model and the pathway chain built on it: the model behind wait-time what-ifs.

Why not re-score the dropout-risk model?  Its label is the *eventual* outcome, so a
decision point's score cannot see later stages' waits, and its trees, regularised for
ranking, flatten the wait effect (measured: about 0.7 of the true effect).  A wait cut
needs the effect of the wait itself, at every stage still ahead of the patient.

`AttendanceModel`: P(the awaited stage happens within its window | what was known on the
decision day), a logistic regression whose booked wait enters only through a spline
per stage and payer (`ml.wait_splines`).  Its logit is additive, patient part + wait
curve, so changing the wait is a table lookup.

`PathwayChain`: per patient, from their latest decision point, P(attend it) and
P(finish the pathway after attending), the later stages averaged over the lead times
actually booked for their program and site.  Confirmation rates and missed-booking
shares come from the observed data.  No ground truth is used anywhere here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from data.params import TRANSITIONS
from data.pathway import ALLOWED_WINDOW_DAYS
from ml.wait_splines import GROUP_SEPARATOR, GroupedWaitSplines, group_keys

WAIT = "lead_days"
WAIT_GROUPS = ("awaiting_stage", "payer")
# Known on the decision day; the landmark-only features (waited, days until/past booking)
# are constant on that day, and the wait itself enters only through the spline.
ATTENDANCE_NUMERIC = ("age", "adi", "distance_km", "comorbidity_index", "prior_no_shows_12m", "prior_visits_12m",
                      "portal_user", "est_out_of_pocket", "prior_allowed_cost_12m", "previous_stage_days",
                      "missed_previous_appointment", "prior_decisions_missed", "days_since_enrollment")
ATTENDANCE_CATEGORICAL = ("program", "awaiting_stage", "sex", "language", "payer", "region", "site",
                          "decision_season")
# Each program's step is its own step (a colonoscopy is not an HbA1c test): without this
# interaction, a program's lower attendance at one stage is blamed on its longer waits.
PATHWAY_STEP = ("program", "awaiting_stage")
MAX_FIT_ROWS = 200_000      # a random sample beyond this: the curve is well estimated long before
LEAD_QUANTILES = 7          # later stages' booked waits are averaged over this many quantiles
LONGEST_LEAD = max(max(stages.values()) for stages in ALLOWED_WINDOW_DAYS.values())


def shortened_lead(lead: np.ndarray, cut, floor: float) -> np.ndarray:
    """Booked lead time after removing `cut` (a fraction, scalar or per row) of it, in whole
    days and never below `floor`; unchanged where the cut is 0."""
    lead = np.asarray(lead, dtype=float)
    return np.where(np.asarray(cut) > 0, np.maximum(floor, np.rint(lead * (1 - np.asarray(cut)))), lead)


def pathway_step(frame: pd.DataFrame) -> np.ndarray:
    """'program|stage' of each row, as one column."""
    return group_keys(frame, list(PATHWAY_STEP)).reshape(-1, 1)


def resolved_decision_rows(rows: pd.DataFrame, as_of) -> np.ndarray:
    """Decision points whose window closed before the as-of date: only then is 'did not attend' final.

    Counting also those who already attended while the window is still open keeps the quick
    attenders and drops everyone still to come, so attendance is inflated (on the default
    data by 0.5-0.9 points over the generator's truth, with only 3 % of windows open; more
    where more of the data is recent)."""
    return (rows["window_closes"] < pd.Timestamp(as_of)).to_numpy()


@dataclass
class AttendanceModel:
    """Tables of the wait term, (levels + 1 unseen, LONGEST_LEAD + 1) by whole days:
    `fitted_wait` as the regression fitted it, `wait` the same curve made non-increasing
    (a longer wait never helps attendance) by isotonic regression weighted by how many
    bookings had each wait; sparse short or long waits otherwise let the spline wiggle."""
    pipeline: Pipeline
    levels: dict  # 'stage|payer' -> row of the tables
    fitted_wait: np.ndarray
    wait: np.ndarray

    @classmethod
    def fit(cls, rows: pd.DataFrame, attended: np.ndarray, seed: int = 0) -> "AttendanceModel":
        """Fit on resolved decision-day rows; `attended` says whether the awaited stage happened.
        Rows without a booked date say nothing about the wait and are left out."""
        booked = rows[WAIT].notna().to_numpy()
        rows, attended = rows[booked], np.asarray(attended)[booked]
        if len(rows) > MAX_FIT_ROWS:
            keep = np.sort(np.random.default_rng(seed).choice(len(rows), MAX_FIT_ROWS, replace=False))
            rows, attended = rows.iloc[keep], np.asarray(attended)[keep]
        preprocess = ColumnTransformer([
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), list(ATTENDANCE_NUMERIC)),
            ("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                          OneHotEncoder(handle_unknown="ignore")), list(ATTENDANCE_CATEGORICAL)),
            ("step", make_pipeline(FunctionTransformer(pathway_step), OneHotEncoder(handle_unknown="ignore")),
             list(PATHWAY_STEP)),
            # Scaled like the other inputs, so the penalty does not flatten the wait curve.
            ("wait", make_pipeline(GroupedWaitSplines(WAIT, WAIT_GROUPS), StandardScaler()), [WAIT, *WAIT_GROUPS]),
        ])
        pipeline = Pipeline([("preprocess", preprocess),
                             ("model", LogisticRegression(max_iter=3000, random_state=seed))])
        pipeline.fit(rows, np.asarray(attended, dtype=int))
        levels, fitted = cls._wait_lookup(pipeline)
        return cls(pipeline, levels, fitted, cls._non_increasing(fitted, levels, rows))

    @staticmethod
    def _non_increasing(fitted: np.ndarray, levels: dict, rows: pd.DataFrame) -> np.ndarray:
        keys = group_keys(rows, list(WAIT_GROUPS))
        days = np.arange(fitted.shape[1])
        lead = np.clip(np.rint(rows[WAIT].to_numpy(float)), 0, LONGEST_LEAD).astype(np.int64)
        monotone = fitted.copy()
        for level, i in levels.items():
            weight = np.bincount(lead[keys == level], minlength=len(days)) + 1e-3
            monotone[i] = IsotonicRegression(increasing=False).fit(days, fitted[i], sample_weight=weight).predict(days)
        return monotone

    @staticmethod
    def _wait_lookup(pipeline: Pipeline) -> tuple[dict, np.ndarray]:
        preprocess = pipeline.named_steps["preprocess"]
        wait = preprocess.named_transformers_["wait"]
        coef = pipeline.named_steps["model"].coef_[0][preprocess.output_indices_["wait"]]
        levels = wait[0].levels_
        days = np.arange(LONGEST_LEAD + 1, dtype=float)
        unseen = GROUP_SEPARATOR.join(["(unseen)"] * len(WAIT_GROUPS))  # its basis is all zero
        table = np.empty((len(levels) + 1, len(days)))
        for i, level in enumerate((*levels, unseen)):
            frame = pd.DataFrame({WAIT: days, **dict(zip(WAIT_GROUPS, level.split(GROUP_SEPARATOR)))})
            table[i] = wait.transform(frame) @ coef
        return {level: i for i, level in enumerate(levels)}, table

    def level_index(self, frame: pd.DataFrame) -> np.ndarray:
        keys = group_keys(frame, list(WAIT_GROUPS))
        return np.asarray([self.levels.get(k, len(self.levels)) for k in keys], dtype=np.int64)

    def wait_logit(self, level: np.ndarray, lead: np.ndarray, fitted: bool = False) -> np.ndarray:
        """The (non-increasing) wait term of the logit at whole-day leads, clipped to the longest window."""
        days = np.clip(np.rint(np.asarray(lead, dtype=float)), 0, LONGEST_LEAD).astype(np.int64)
        return (self.fitted_wait if fitted else self.wait)[level, days]

    def patient_logit(self, frame: pd.DataFrame) -> np.ndarray:
        """The logit without its wait term: what the patient and the stage bring."""
        full = self.pipeline.decision_function(frame)
        return full - self.wait_logit(self.level_index(frame), frame[WAIT].to_numpy(float), fitted=True)

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        """P(attend), with the non-increasing wait curve."""
        return expit(self.patient_logit(frame) + self.wait_logit(self.level_index(frame), frame[WAIT].to_numpy(float)))


class PathwayChain:
    """P(attend the awaited stage) and P(finish after it) per patient, under the levers.

    `latest` holds each patient's latest decision-day row (the stage they await or last
    awaited); `all_rows` every decision-day row (booked leads per program, site and stage;
    the share of decisions that followed a missed booking), `resolved` marks those whose
    window has closed (how often a missed first appointment is made up in time).

    Levers: `cuts` (stage -> fraction of the booked wait removed) and `first_visit_pp`
    (stage -> extra share of patients attending their first booked appointment; of those
    who would have missed it, the ones who would have rebooked in time gain nothing)."""

    def __init__(self, model: AttendanceModel, latest: pd.DataFrame, all_rows: pd.DataFrame, resolved: np.ndarray,
                 confirmed_share: dict, lead_floor: float):
        self.model, self.lead_floor = model, lead_floor
        latest = latest.assign(**{WAIT: self._leads_or_typical(latest, all_rows)})
        self.stage = latest["awaiting_stage"].astype(str).to_numpy()
        self.lead = latest[WAIT].to_numpy(float)
        self.level = model.level_index(latest)
        self.logit_now = model.patient_logit(latest)
        program = latest["program"].astype(str)
        self.confirmed = program.map(confirmed_share).fillna(0.0).to_numpy(float)
        made_up = made_up_share(all_rows[resolved], ["awaiting_stage", "program"])
        self.not_made_up = {stage: 1 - np.asarray([made_up.get((stage, p), 0.0) for p in program], dtype=float)
                            for stage in TRANSITIONS}
        self.ahead = {stage: self._stage_ahead(latest, all_rows, stage) for stage in TRANSITIONS[1:]}

    @staticmethod
    def _leads_or_typical(latest: pd.DataFrame, all_rows: pd.DataFrame) -> np.ndarray:
        """Booked leads, with the typical one (median for program and site) where no date was booked."""
        lead = latest[WAIT].to_numpy(float).copy()
        for stage in TRANSITIONS:
            missing = np.isnan(lead) & (latest["awaiting_stage"].astype(str) == stage).to_numpy()
            if missing.any():
                at_stage = all_rows[all_rows["awaiting_stage"].astype(str) == stage]
                lead[missing] = booked_lead_quantiles(latest[missing], at_stage, np.array([0.5]))[:, 0]
        return lead

    def _stage_ahead(self, latest: pd.DataFrame, all_rows: pd.DataFrame, stage: str) -> dict:
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
        return {"logit": self.model.patient_logit(template), "level": self.model.level_index(template),
                "leads": booked_lead_quantiles(latest, at_stage, probs)}

    def attend_now(self, cuts: dict, first_visit_pp: dict) -> np.ndarray:
        """P(the awaited stage happens), with that stage's levers."""
        cut, extra = np.zeros(len(self.stage)), np.zeros(len(self.stage))
        for stage in TRANSITIONS:
            at = self.stage == stage
            cut[at] = cuts.get(stage, 0.0)
            extra[at] = first_visit_pp.get(stage, 0.0) * self.not_made_up[stage][at]
        lead = shortened_lead(self.lead, cut, self.lead_floor)
        return np.clip(expit(self.logit_now + self.model.wait_logit(self.level, lead)) + extra, 0.0, 1.0)

    def _attend_ahead(self, stage: str, cut: float, first_visit_pp: float) -> np.ndarray:
        ahead = self.ahead[stage]
        leads = shortened_lead(ahead["leads"], cut, self.lead_floor)
        attend = expit(ahead["logit"][:, None] + self.model.wait_logit(ahead["level"][:, None], leads))
        extra = first_visit_pp * self.not_made_up[stage]
        return np.clip(attend + extra[:, None], 0.0, 1.0).mean(axis=1)

    def continuation(self, cuts: dict, first_visit_pp: dict) -> np.ndarray:
        """P(no dropout after attending the awaited stage): confirmation, then later stages."""
        follow_up, treatment = (self._attend_ahead(stage, cuts.get(stage, 0.0), first_visit_pp.get(stage, 0.0))
                                for stage in ("follow_up", "treatment"))
        after_diagnosis = (1 - self.confirmed) + self.confirmed * treatment * follow_up
        return np.select([self.stage == "diagnosis", self.stage == "treatment"], [after_diagnosis, follow_up], 1.0)


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
