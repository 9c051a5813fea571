"""What-if scenarios: project pathway completion under levers, two ways, beside the truth.

Population: patients of the cohort with a positive screen by the as-of date (they
needed follow-up care).  Completion (adherence) = share of them who do not drop out:
they complete the pathway or exit appropriately (ruled out).  Resolved patients count
with their observed outcome, in-progress ones with 1 − their calibrated risk.

Methods
- Stage-conversion arithmetic: observed conversion at each booked stage, chained;
  waits act through a per-stage logistic fit of attendance on booked lead time;
  outreach cuts the chained stage dropout of contacted patients.
- Model-based counterfactual: wait cuts and first-visit attendance act through the
  fitted stage-attendance model and the pathway chain (`ml.scenarios.attendance`,
  `ml.scenarios.pathway_chain`): each patient's chance of attending the awaited stage and every
  later one under the levers.  Patients whose outcome is known are asked the
  counterfactual question about themselves: one who completed still completes (the
  levers only help); one who dropped out at a stage would have attended with
  probability (a' - a) / (1 - a), the same patient with the same luck, then finished
  with the chain's probability.
  Patients in progress get the expected change.  Outreach: with a benefit model
  (ml.targeting, learned from the outreach log) the top patients by expected gain are
  contacted and each gains their expected gain (at most the risk left after the other
  levers); without one, the top by risk, whose remaining risk falls by the effectiveness.
  Screening uptake brings in patients no model has seen: both methods count them at
  the cohort's completion rate (flagged in the result).
- Ground truth (synthetic data only): re-simulate the same patients with the same
  draws under the levers; navigator calls on the as-of date are averaged over 16
  redrawn call outcomes (the old uniform lever's navigation draw exactly), everything
  else is the realised re-simulation.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np
import pandas as pd

from data.io import Dataset
from data.pathway import DEFAULT_PATHWAY
from ml.risk.oracle import has_ground_truth
from ml.scenarios.attendance import AttendanceModel, resolved_decision_rows
from ml.scenarios.pathway_chain import PathwayChain
from ml.scenarios.arithmetic import (ARITHMETIC_COLUMNS, FUNNEL_STEPS, ClosedDecisions,
                                     stage_conversion_arithmetic, wait_elasticity)
from ml.scenarios.intervals import projection_intervals, scaled_draw_totals
from ml.scenarios.levers import ScenarioLevers
from ml.scenarios.population import ChainGroup, CohortState, PatientPositions, ScreenedPatients
from ml.code_fingerprint import source_fingerprint
from ml.risk.training import ModelBundle
from ml.workspace import AnalyticWorkspace

# Coefficient draws of the stage-attendance model: their spread is the model's share of
# the intervals (ml.scenarios.intervals), beside the patients' share.
MODEL_DRAWS = 30
# The draws are evaluated on at most this many patients of the cohort (a fixed random
# subsample) and their totals scaled up: all of them at 50k, a tenth at 1M.
DRAW_PATIENTS = 20_000
# Cohorts whose state before the levers is kept between slider moves (ml.scenarios.population.CohortState).
COHORTS_KEPT = 4
# Redrawn call outcomes averaged in the ground truth of the outreach lever (benefit model).
TRUTH_CALL_DRAWS = 16
# The code that shapes the engine's fitted state: a changed rule gives another cache key.
ENGINE_MODULES = ("ml.scenarios.engine", "ml.scenarios.attendance", "ml.scenarios.pathway_chain",
                  "ml.scenarios.arithmetic", "ml.scenarios.wait_splines", "ml.scenarios.levers",
                  "ml.scenarios.population")
# Held by reference, not part of the fitted state: the inputs, the workspace's shared tables,
# the synthetic world (re-read from the manifest), the truth cache and the kept cohort states.
_ATTACHED = ("dataset", "bundle", "rows", "journeys", "_resimulator", "_truth_cache", "_truth_lock",
             "_cohorts", "_cohorts_lock")
_UNREAD = object()  # the synthetic world not read yet


# The levers' names in an attribution, and whether the engine has a cost for them.
PATHWAY_LEVERS = "wait-time cuts and first-visit attendance"
OUTREACH_LEVER = "targeted outreach"
SCREENING_LEVER = "screening uptake"
COST_NOT_MODELLED = "cost not modelled"


def lever_attribution(levers: ScenarioLevers, pathway_extra: float, outreach_extra: float,
                      screening_extra: float, n_contacted: int) -> list[dict]:
    """Extra completions per active lever and, where the engine has one, its cost.

    Only outreach is costed (contacts × cost per contact); wait cuts, attendance and
    screening drives have no cost model, so they are listed with COST_NOT_MODELLED rather
    than lowering a cost per extra completion they did not pay for. Outreach is credited
    with what it adds on top of the other levers (it acts on the risk they leave), so the
    parts add up to the total."""
    rows = []
    if any(levers.wait_cut_pct.values()) or any(levers.attendance_pp.values()):
        rows.append({"lever": PATHWAY_LEVERS, "extra_completions": pathway_extra, "cost": None,
                     "cost_per_extra_completion": None, "cost_note": COST_NOT_MODELLED})
    if n_contacted and levers.outreach_effectiveness > 0:
        cost = n_contacted * levers.cost_per_contact
        rows.append({"lever": OUTREACH_LEVER, "extra_completions": outreach_extra, "cost": float(cost),
                     "cost_per_extra_completion": float(cost / outreach_extra) if cost and outreach_extra > 0
                     else None,
                     "cost_note": f"{n_contacted:,} contacts × ${levers.cost_per_contact:,.0f}"})
    if levers.screening_uptake_pp:
        rows.append({"lever": SCREENING_LEVER, "extra_completions": screening_extra, "cost": None,
                     "cost_per_extra_completion": None, "cost_note": COST_NOT_MODELLED})
    return rows


class ScenarioEngine:
    """Heavy work once (decision rows, attendance model and chain, stage fits); projections are cheap."""

    def __init__(self, dataset: Dataset, bundle: ModelBundle):
        if dataset.pathway.stages != DEFAULT_PATHWAY.stages or dataset.pathway.programs != DEFAULT_PATHWAY.programs:
            # The levers (screen positivity, confirmation, three booked stages) and the
            # attendance model are built on the default pathway and its windows.
            raise ValueError(
                "Scenarios model the default screening → diagnosis → treatment → follow-up pathway with its "
                f"programs and windows; this dataset defines its own ({' → '.join(dataset.pathway.stage_names)}, "
                f"{', '.join(dataset.pathway.program_names)}), so no projection is offered rather than a wrong one.")
        self._attach(dataset, bundle)
        # Integer patient positions: cohort membership becomes a mask (population.PatientPositions)
        # instead of string matching (slow for Arrow-backed strings) on every slider move.
        self._positions = PatientPositions(dataset.patients["patient_id"])
        self._patients = self._positions.index
        self._row_patient = self._position(self.rows["patient_id"])
        self._score_patient = self._position(bundle.scores["patient_id"])
        self._resolved = resolved_decision_rows(self.rows, dataset.as_of)
        self.lead_floor = float(np.nanmin(self.rows["lead_days"])) if self.rows["lead_days"].notna().any() else 0.0
        self.stage_fits = wait_elasticity(self.rows[self._resolved])
        self.confirmed_share, self._confirmed_by_program = self._confirmed_shares()
        self.chain, self._chain_position = self._build_chain()
        all_sets = np.arange(self.chain.n_sets)
        self._chain_baseline = self.chain.baseline(all_sets)
        self.screened = ScreenedPatients.derive(self.rows, self.journeys, bundle.scores, self._position,
                                                self._chain_position)
        # The arithmetic reads the closed decision points of the cohort's screened patients: split by
        # stage once, with their patients' positions, so a move counts them under the cohort mask.
        is_screened = np.zeros(len(self._patients), bool)
        is_screened[self.screened.patient] = True
        resolved_screened = self._resolved & is_screened[self._row_patient]
        self._closed = ClosedDecisions(self.rows.loc[resolved_screened, ARITHMETIC_COLUMNS],
                                       self._row_patient[resolved_screened])
        # Screening uptake: who was screened, and positive, per dataset patient.
        journey = self.journeys.loc[self._patients]
        self._was_screened = journey["screening_date"].notna().to_numpy()
        self._screened_positive = (journey["screening_result"].astype(str) == "positive").to_numpy()
        # The outreach lever uses the benefit model when there is one (ml.targeting): contacted =
        # top by expected gain, each gains their expected gain; otherwise top by risk, each
        # losing `effectiveness` of their risk.
        gains = bundle.scores["expected_gain"] if "expected_gain" in bundle.scores.columns else None
        self.uses_benefit_model = gains is not None and bool(gains.notna().any())
        self.outreach_ranking = "expected_gain" if self.uses_benefit_model else "risk"
        # What the outreach lever reads of the scores, with each row's patient position.
        ranking_columns = ["patient_id", "awaiting_stage", "risk"] + (["expected_gain"] if gains is not None else [])
        self._ranking = bundle.scores[ranking_columns].assign(position=self._score_patient)
        self._screened_index = np.full(len(self._patients), -1, dtype=np.int64)
        self._screened_index[self.screened.patient] = np.arange(len(self.screened))

    @classmethod
    def cached(cls, dataset: Dataset, bundle: ModelBundle) -> "ScenarioEngine":
        """The engine, its fitted state (attendance model, chain, stage fits) loaded from the
        workspace's cache folder when this dataset, these models and this code built it before
        (a cached start at 1M would otherwise refit it for a minute), else built and saved."""
        if not bundle.key:  # models from outside the registry: nothing identifies them across starts
            return cls(dataset, bundle)
        key = f"{bundle.key}-{source_fingerprint(ENGINE_MODULES)[:12]}-d{MODEL_DRAWS}"
        engine = AnalyticWorkspace.of(dataset).artifact("scenario_engine", key, lambda: cls(dataset, bundle))
        if engine.dataset is None:
            engine._attach(dataset, bundle)
        return engine

    def _attach(self, dataset: Dataset, bundle: ModelBundle) -> None:
        """Hold the inputs and the workspace's shared tables (never pickled with the fitted state)."""
        self.dataset, self.bundle = dataset, bundle
        workspace = AnalyticWorkspace.of(dataset)  # rows derived once, shared with training
        self.rows = workspace.decision_day_rows
        self.journeys = workspace.journeys.set_index("patient_id")
        self._resimulator = _UNREAD
        self._truth_cache: dict = {}
        self._truth_lock = threading.Lock()
        # Cohort states kept between slider moves (CohortState): this process's, never pickled.
        self._cohorts: OrderedDict = OrderedDict()
        self._cohorts_lock = threading.Lock()

    @property
    def resimulator(self):
        """The synthetic world the ground truth re-simulates, or None for data without one. Read
        from the manifest on first use (a truth check), not at start-up: 2-4 s at 1M patients."""
        if self._resimulator is _UNREAD:
            with self._truth_lock:
                if self._resimulator is _UNREAD:
                    resimulator = None
                    if has_ground_truth(self.dataset):
                        # The synthetic world is a leaf: loaded only for a dataset that carries its ground truth.
                        from data.synthetic.resimulate import Resimulator

                        resimulator = Resimulator.from_manifest(self.dataset.manifest)
                        self._resim_patient = self._position(resimulator.population.patients["patient_id"])
                    self._resimulator = resimulator
        return self._resimulator

    @resimulator.setter
    def resimulator(self, value) -> None:
        self._resimulator = value

    def __getstate__(self) -> dict:
        return {name: value for name, value in self.__dict__.items() if name not in _ATTACHED}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.update(dict.fromkeys(_ATTACHED))  # _attach() fills them

    # ------------------------------------------------------------------ building blocks
    def _position(self, ids) -> np.ndarray:
        return self._positions.of(ids)

    def _membership(self, cohort_ids) -> np.ndarray:
        """Boolean mask over all patients: True for the cohort (everyone when None)."""
        return self._positions.member(cohort_ids)

    def _build_chain(self) -> tuple[PathwayChain, np.ndarray]:
        """The stage-attendance model and every patient's chain from their latest decision point;
        also, per dataset patient, the position of their chain row (-1 without a decision point)."""
        resolved = self.rows[self._resolved]
        model = AttendanceModel.fit(resolved, resolved["next_stage_date"].notna().to_numpy())
        latest = self.rows.groupby("patient_id", sort=False).tail(1)
        chain = PathwayChain(model, latest, self.rows, self._resolved, self._confirmed_by_program,
                             self.lead_floor, draws=MODEL_DRAWS)
        position = np.full(len(self._patients), -1, dtype=np.int64)
        position[self._position(latest["patient_id"])] = np.arange(len(latest))
        return chain, position

    def _group(self, patients: np.ndarray, sets: np.ndarray) -> ChainGroup:
        """``patients`` (indices into ``self.screened``) with their chain state without the levers."""
        dropped_out = self.screened.dropped_out[patients]
        open_to_change = dropped_out | self.screened.in_progress[patients]  # the levers only help
        at = self.screened.chain_at[patients[open_to_change]]
        before = self._chain_baseline.take(sets, at)
        return ChainGroup(patients, sets, open_to_change, at, dropped_out[open_to_change], before,
                          self.chain.continuation(before, at))

    def _after(self, levers: ScenarioLevers, group: ChainGroup):
        """The chain odds of the group's patients open to change, under the levers."""
        return self.chain.odds(levers.wait_cut_pct, levers.attendance_pp, group.at, group.sets)

    @staticmethod
    def _rescued(before, after) -> np.ndarray:
        """P(attending under the levers | did not attend without them), the same patient, the same luck."""
        return np.clip((after.attend - before.attend) / np.maximum(1e-6, 1 - before.attend), 0.0, 1.0)

    def _group_gain(self, levers: ScenarioLevers, group: ChainGroup, after=None) -> np.ndarray:
        """(sets, patients) model-based gain of the group under the wait-cut and attendance levers;
        ``after``: the group's odds under the levers when already computed."""
        gain = np.zeros((len(group.sets), len(group.patients)))
        if not any(levers.wait_cut_pct.values()) and not any(levers.attendance_pp.values()):
            return gain
        after = self._after(levers, group) if after is None else after
        finish_after = self.chain.continuation(after, group.at)
        expected_change = after.attend * finish_after - group.before.attend * group.finish_before
        gain[:, group.open] = np.where(group.dropped_out, self._rescued(group.before, after) * finish_after,
                                       expected_change)
        return gain

    def population_index(self, cohort_ids=None, member: np.ndarray | None = None) -> np.ndarray:
        """The cohort's population as indices into ``self.screened``, in the rows' order of
        ``population()``: what pathway_gain, _outreach_deltas and _draw_totals take."""
        return self.screened.of(self._membership(cohort_ids) if member is None else member)

    def pathway_gain(self, levers: ScenarioLevers, patients: np.ndarray, with_draws: bool = False) -> np.ndarray:
        """Model-based change in each patient's chance of not dropping out under the wait-cut and
        attendance levers: (coefficient sets, patients), the fitted model first, then its draws
        when `with_draws`.  ``patients`` index ``self.screened`` (``population_index``).  Resolved
        outcomes are kept or rescued as the same patient would be (see the module docstring);
        in-progress patients get the expected change."""
        return self._group_gain(levers, self._group(patients, np.arange(self.chain.n_sets if with_draws else 1)))

    def _funnel(self, cohort: CohortState, after, extra_positives: float) -> list[dict]:
        """Expected patients at each step, baseline and with the levers (``after``: the fitted
        group's odds under them), from the same model-based projection as the headline: resolved
        patients as observed (dropouts rescued with their chance), in-progress ones with their
        chance of getting there.  Extra positive screens from an uptake drive follow the
        baseline's step shares."""
        group, scenario = cohort.fitted, cohort.observed.copy()
        if group.open.any():
            waiting = ~group.dropped_out
            weight = np.where(waiting, after.attend, self._rescued(group.before, after))
            scenario[:, group.open] = self.chain.reached(weight, after, group.at)[:, 0]
        n, base_counts = len(cohort.patients), cohort.funnel_baseline
        scenario_counts = np.concatenate([[n], scenario.sum(axis=1)]) + extra_positives * base_counts / n
        return [{"step": step, "baseline": float(b), "scenario": float(sc)}
                for step, b, sc in zip(FUNNEL_STEPS, base_counts, scenario_counts)]

    def _cohort(self, member: np.ndarray) -> CohortState:
        """The cohort's state before any lever, derived on its first projection and kept for the
        next slider moves (the COHORTS_KEPT most recent cohorts)."""
        key = hashlib.blake2b(np.packbits(member).tobytes(), digest_size=16).digest()
        with self._cohorts_lock:
            if key in self._cohorts:
                self._cohorts.move_to_end(key)
                return self._cohorts[key]
        cohort = self._derive_cohort(member)
        with self._cohorts_lock:
            self._cohorts[key] = cohort
            while len(self._cohorts) > COHORTS_KEPT:
                self._cohorts.popitem(last=False)
        return cohort

    def _derive_cohort(self, member: np.ndarray) -> CohortState:
        patients = self.population_index(member=member)
        fitted = self._group(patients, np.array([0]))
        observed = self.screened.observed[:, patients]
        baseline = observed.copy()
        if fitted.open.any():
            waiting = ~fitted.dropped_out
            baseline[:, fitted.open] = np.where(waiting, self.chain.reached(fitted.before.attend, fitted.before,
                                                                             fitted.at)[:, 0],
                                                observed[:, fitted.open])
        screened = member & self._was_screened
        n_screened = np.count_nonzero(screened)
        positive_share = (float(np.count_nonzero(self._screened_positive[screened]) / n_screened) if n_screened
                          else float("nan"))
        return CohortState(
            member=member, patients=patients, fitted=fitted, base=self.screened.non_dropout[patients],
            in_progress=int(np.count_nonzero(self.screened.in_progress[patients])), observed=observed,
            funnel_baseline=np.concatenate([[len(patients)], baseline.sum(axis=1)]),
            closed=self._closed.records(member), members=int(np.count_nonzero(member)),
            positive_share=positive_share, scores=self._ranking[member[self._score_patient]])

    def population(self, cohort_ids=None, member: np.ndarray | None = None) -> pd.DataFrame:
        """Patients with a positive screen by the as-of date, with baseline non-dropout
        (population.POPULATION_COLUMNS), in ``population_index`` order."""
        return self.screened.frame.iloc[self.population_index(cohort_ids, member)]

    def contacted(self, levers: ScenarioLevers, cohort_ids=None, member: np.ndarray | None = None) -> pd.DataFrame:
        """The cohort's patients the outreach lever calls, best first: their scores' patient_id,
        awaiting_stage, risk (and expected_gain), with their ``position`` in dataset.patients."""
        member = self._membership(cohort_ids) if member is None else member
        return self._contacted(levers, self._ranking[member[self._score_patient]])

    def _contacted(self, levers: ScenarioLevers, scores: pd.DataFrame) -> pd.DataFrame:
        n = levers.outreach_top_n if levers.outreach_top_n is not None else int(
            round(levers.outreach_top_pct * len(scores)))
        if levers.outreach_effectiveness <= 0:
            n = 0
        # With a benefit model, the calls go to the patients a call helps most (ties: by risk, the scores' order).
        return scores.nlargest(min(n, len(scores)), self.outreach_ranking)

    # ------------------------------------------------------------------ projections
    def _confirmed_shares(self) -> tuple[float, dict]:
        """Share of diagnoses that confirm the condition: overall, and per program."""
        diagnosed = self.journeys[self.journeys["diagnosis_date"].notna()]
        confirmed = diagnosed["diagnosis_result"].astype(str) == "confirmed"
        return float(confirmed.mean()), confirmed.groupby(diagnosed["program"].astype(str)).mean().to_dict()

    @staticmethod
    def _extra_positives(levers, cohort: CohortState) -> float:
        """Extra positive screens from higher uptake among the invited patients of the cohort."""
        if not levers.screening_uptake_pp:
            return 0.0
        return cohort.members * levers.screening_uptake_pp * cohort.positive_share

    def _outreach_deltas(self, contacted: pd.DataFrame, patients: np.ndarray, levers: ScenarioLevers,
                         pathway_gain: np.ndarray) -> np.ndarray:
        """(sets, patients) gain under every lever: the pathway levers' gain plus the outreach's,
        which acts on the risk left once the pathway levers act (nobody is rescued twice).
        ``patients`` index ``self.screened``."""
        position = contacted["position"].to_numpy()
        at = np.where(position >= 0, self._screened_index[position], -1)
        called = at >= 0

        def of_contacted(column: str) -> np.ndarray:
            """The column for the contacted patients among ``patients``, 0 for the others (and for a missing value)."""
            values = contacted[column].to_numpy(float)[called]
            by_patient = np.zeros(len(self.screened))
            by_patient[at[called]] = np.where(np.isnan(values), 0.0, values)
            return by_patient[patients]

        remaining = np.maximum(0.0, of_contacted("risk") - pathway_gain)
        if self.uses_benefit_model:
            return pathway_gain + np.minimum(np.clip(of_contacted("expected_gain"), 0.0, None), remaining)
        return pathway_gain + levers.outreach_effectiveness * remaining

    def _draw_totals(self, levers: ScenarioLevers, patients: np.ndarray, contacted: pd.DataFrame,
                     group: ChainGroup | None = None) -> tuple:
        """Totals over the cohort of (all levers' gain, the outreach's gain) under each of the
        attendance model's coefficient draws, from at most DRAW_PATIENTS of the population
        ``patients`` (scaled up); ``group``: those patients' ``_draw_group`` when kept."""
        n = len(patients)
        group = self._draw_group(patients) if group is None else group
        pathway = self._group_gain(levers, group)
        deltas = self._outreach_deltas(contacted, group.patients, levers, pathway)
        totals = scaled_draw_totals(deltas[1:], deltas[0], n)
        costed_totals = scaled_draw_totals(deltas[1:] - pathway[1:], deltas[0] - pathway[0], n)
        return totals, costed_totals

    def _draw_group(self, patients: np.ndarray) -> ChainGroup:
        """The patients the draws are evaluated on, with every coefficient set."""
        n = len(patients)
        sample = np.arange(n)
        if n > DRAW_PATIENTS:
            # Fixed per cohort size, so a slider move does not jitter the interval.
            sample = np.sort(np.random.default_rng(n).choice(n, DRAW_PATIENTS, replace=False))
        return self._group(patients[sample], np.arange(self.chain.n_sets))

    def project(self, levers: ScenarioLevers, cohort_ids=None, with_truth: bool = True,
                intervals: bool = True, progress=None) -> dict:
        """``intervals``: 95 % intervals from the patients and the model's draws (the slider and
        the page want them; a baseline or a truth check does not).  ``progress(done, total)``,
        when given, is called after each re-simulation of the truth."""
        cohort = self._cohort(self._membership(cohort_ids))
        patients, member = cohort.patients, cohort.member
        n = len(patients)
        if n == 0:
            return {"patients": 0, "message": "No patient in this cohort has had a positive screen yet."}
        contacted = self._contacted(levers, cohort.scores)
        # The fitted chain under the levers, once: the headline gain and the funnel both read it.
        after = self._after(levers, cohort.fitted) if cohort.fitted.open.any() else None
        pathway_gain = self._group_gain(levers, cohort.fitted, after)
        delta = self._outreach_deltas(contacted, patients, levers, pathway_gain)[0]
        # The part of each patient's gain that the outreach adds on top of the other levers:
        # the only lever with a cost, so the only gain a cost per extra completion divides.
        outreach_delta = delta - pathway_gain[0]
        draw_totals = (None, None)
        if intervals:
            if cohort.draws is None:
                cohort.draws = self._draw_group(patients)
            draw_totals = self._draw_totals(levers, patients, contacted, cohort.draws)
        extra_positives = self._extra_positives(levers, cohort)
        arithmetic = stage_conversion_arithmetic(
            levers, cohort.closed, n, contacted["awaiting_stage"].tolist(),
            extra_positives, self.stage_fits, self.confirmed_share, self.lead_floor)
        base = cohort.base
        result = {
            "patients": int(n), "in_progress": cohort.in_progress,
            "contacted": int(len(contacted)),
            "extra_positive_screens": float(extra_positives),
            "levers": levers.to_dict(),
            "outreach_method": ("benefit model: the top patients by expected gain from a call, each gaining it "
                                "(learned from the outreach log; the effectiveness setting only switches calls on)"
                                if self.uses_benefit_model else
                                "top patients by risk, each losing the effectiveness share of their risk"),
            "baseline_completion_rate": float(base.mean()),
            "methods": {
                "model": self._summarise(base, delta, extra_positives, levers, len(contacted), outreach_delta,
                                         draw_totals if intervals else None),
                "arithmetic": self._summarise(base, np.full(n, arithmetic["completion_rate_change"]),
                                              extra_positives, levers, len(contacted),
                                              np.full(n, arithmetic["outreach_extra"] / n), None),
            },
            "funnel": self._funnel(cohort, after, extra_positives),
            "arithmetic_detail": arithmetic,
            "arithmetic_only_levers": ["screening uptake"] if levers.screening_uptake_pp else [],
        }
        result.update({k: result["methods"]["model"][k] for k in (
            "projected_completion_rate", "relative_improvement", "extra_completions", "programme_cost",
            "outreach_extra_completions",
            "cost_per_extra_completion", "projected_completion_rate_ci", "relative_improvement_ci",
            "extra_completions_ci", "cost_per_extra_completion_ci")})
        result["attribution"] = lever_attribution(levers, float(pathway_gain[0].sum()),
                                                  float(outreach_delta.sum()),
                                                  extra_positives * float(base.mean()), len(contacted))
        if with_truth and self.resimulator is not None:
            in_pop = np.zeros(len(self._patients), bool)
            in_pop[self.screened.patient[patients]] = True
            result.update(self.truth(levers, member, in_pop, contacted, progress=progress))
        return result

    @staticmethod
    def _summarise(base, delta, extra_positives, levers, n_contacted, costed_delta,
                   draw_totals: tuple | None) -> dict:
        """Headline numbers and, with ``draw_totals`` (the model draws' totals of all levers' gain
        and of the outreach's gain), their 95 % intervals (ml.scenarios.intervals).  Extra
        positive screens complete at the baseline rate.  The cost per extra completion divides
        the outreach cost by the gain of the outreach alone (``costed_delta``), never by gains
        of uncosted levers."""
        n = len(base)
        cost = n_contacted * levers.cost_per_contact
        rate, projected = base.mean(), (base.sum() + delta.sum()) / n
        costed_extra = costed_delta.sum()
        out = {"projected_completion_rate": float(projected),
               "relative_improvement": float((projected - rate) / rate) if rate else None,
               "extra_completions": float(delta.sum() + extra_positives * rate), "programme_cost": float(cost),
               "outreach_extra_completions": float(costed_extra),
               "cost_per_extra_completion": float(cost / costed_extra) if cost and costed_extra > 0 else None}
        if draw_totals is None:
            out.update({k: None for k in ("projected_completion_rate_ci", "relative_improvement_ci",
                                          "extra_completions_ci", "cost_per_extra_completion_ci")})
        else:
            out.update(projection_intervals(base, delta, costed_delta, extra_positives, cost, *draw_totals))
        return out

    # ------------------------------------------------------------------ ground truth
    def truth(self, levers: ScenarioLevers, member: np.ndarray, in_pop: np.ndarray, contacted: pd.DataFrame,
              progress=None) -> dict:
        """True completion under the levers by re-simulating the same patients and draws.

        `member` / `in_pop` are masks over the dataset's patients (cohort, population);
        `progress(done, total)` is called after each re-simulation (a run takes seconds at scale)."""
        from data.synthetic.params import Levers

        calls_drawn = self.uses_benefit_model and len(contacted)
        total = 2 + (TRUTH_CALL_DRAWS if calls_drawn else 1 if len(contacted) else 0)
        done = [0]

        def simulate(sim_levers):
            outcome = self._simulate(sim_levers)
            done[0] += 1
            if progress is not None:
                progress(done[0], total)
            return outcome

        position = self._resim_patient
        contacted_member = np.zeros(len(self._patients), bool)
        contacted_member[contacted["position"].to_numpy()] = True
        in_cohort, contacted_mask = member[position], contacted_member[position]
        in_pop = in_pop[position]
        base_levers = Levers(screening_uptake_shift=levers.screening_uptake_pp,
                             attendance_shift=dict(levers.attendance_pp),
                             lead_time_scale={s: 1 - v for s, v in levers.wait_cut_pct.items() if v})
        without_outreach = simulate(base_levers)
        baseline = simulate(Levers())
        if calls_drawn:
            # Navigator calls on the as-of date under the call model, averaged over redrawn call
            # outcomes (reach, barrier, attendance), so the truth is an expectation like the projection.
            calls = {pid: 0 for pid in contacted["patient_id"]}
            called = np.mean([simulate(Levers(**{**base_levers.__dict__, "calls": calls,
                                                  "call_draw_seed": seed}))[0]
                              for seed in range(TRUTH_CALL_DRAWS)], axis=0)
            scenario_ok = np.where(contacted_mask, called, without_outreach[0])
        else:
            with_full_outreach = simulate(Levers(**{
                **base_levers.__dict__, "outreach_patient_ids": frozenset(contacted["patient_id"]),
                "outreach_effectiveness": 1.0})) if len(contacted) else without_outreach
            e = levers.outreach_effectiveness
            # Expected over the navigation draw: a contacted patient is navigated with probability e.
            scenario_ok = np.where(contacted_mask, (1 - e) * without_outreach[0] + e * with_full_outreach[0],
                                   without_outreach[0])
        base_rate = float(baseline[0][in_pop].mean())
        true_rate = float(scenario_ok[in_pop].mean())
        newly_positive = without_outreach[1] & ~baseline[1] & in_cohort
        counted = in_pop | newly_positive
        extra_true = float(scenario_ok[counted].sum() - (baseline[0] & baseline[1])[counted].sum())
        return {"true_baseline_completion_rate": base_rate, "true_completion_rate": true_rate,
                "true_relative_improvement": (true_rate - base_rate) / base_rate if base_rate else None,
                "true_extra_completions": extra_true}

    def _simulate(self, levers) -> tuple[np.ndarray, np.ndarray]:
        """(positive screen and no dropout, positive screen) per patient, full future; cached."""
        key = repr(levers)
        if key not in self._truth_cache:
            from data.synthetic.generator import outcome_by_patient

            sim = self.resimulator.run(levers)
            positive = sim.stages["diagnosis"]["indicated"]
            if len(self._truth_cache) >= 8 + TRUTH_CALL_DRAWS:
                self._truth_cache.pop(next(iter(self._truth_cache)))  # oldest first
            self._truth_cache[key] = (positive & (outcome_by_patient(sim) != "dropped_out"), positive)
        return self._truth_cache[key]
