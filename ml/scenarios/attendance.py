"""Stage-attendance model: P(the awaited stage happens within its window | the decision day).

The model behind wait-time and attendance what-ifs (`ml.scenarios.pathway_chain`, `ml.scenarios.engine`).
Why not re-score the dropout-risk model?  Its label is the *eventual* outcome, so a
decision point's score cannot see later stages' waits, and its trees, regularised for
ranking, flatten the wait effect (measured: 0.72 of the true effect).

A logistic regression on what was known on the decision day, with the booked wait
entering only through a spline per stage and payer (`ml.scenarios.wait_splines`), so the logit
is a patient part plus a wait curve and changing the wait is a table lookup.  The
fitted curve is made non-increasing (a longer wait never helps attendance).  The
coefficients' sampling covariance (sandwich form of the penalised fit) gives draws
that carry the model's own uncertainty into the scenario intervals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from data.pathway import ALLOWED_WINDOW_DAYS
from ml.scenarios.wait_splines import GROUP_SEPARATOR, NOT_RECORDED, GroupedWaitSplines, group_keys

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
PENALTY_C = 1.0
MAX_FIT_ROWS = 200_000  # a random sample beyond this: the curve is well estimated long before
LONGEST_LEAD = max(max(stages.values()) for stages in ALLOWED_WINDOW_DAYS.values())


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


def _recorded(rows: pd.DataFrame, columns) -> list[str]:
    """The columns with at least one recorded value (an optional attribute may be absent)."""
    return [c for c in columns if rows[c].notna().any()]


def _pipeline(seed: int, rows: pd.DataFrame) -> Pipeline:
    preprocess = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
         _recorded(rows, ATTENDANCE_NUMERIC)),
        # A missing category is its own level: the most frequent one would invent a value.
        ("categorical", make_pipeline(SimpleImputer(strategy="constant", fill_value=NOT_RECORDED),
                                      OneHotEncoder(handle_unknown="ignore")), _recorded(rows, ATTENDANCE_CATEGORICAL)),
        ("step", make_pipeline(FunctionTransformer(pathway_step), OneHotEncoder(handle_unknown="ignore")),
         list(PATHWAY_STEP)),
        # Scaled like the other inputs, so the penalty does not flatten the wait curve.
        ("wait", make_pipeline(GroupedWaitSplines(WAIT, WAIT_GROUPS), StandardScaler()), [WAIT, *WAIT_GROUPS]),
    ])
    return Pipeline([("preprocess", preprocess),
                     ("model", LogisticRegression(C=PENALTY_C, max_iter=3000, random_state=seed))])


def _with_intercept(design) -> sparse.csr_matrix:
    return sparse.hstack([np.ones((design.shape[0], 1)), sparse.csr_matrix(design)], format="csr")


@dataclass
class AttendanceModel:
    """Wait tables are indexed (level, whole days 0..LONGEST_LEAD); their last level stands for
    any group without a curve of its own (never seen in fit, or too thin), whose spline
    columns are all zero."""
    pipeline: Pipeline
    levels: dict                   # 'stage|payer' -> row of the wait tables
    wait_basis: np.ndarray         # (levels + 1, days, wait columns): the scaled spline columns
    wait_weight: np.ndarray        # (levels + 1, days): training bookings with each wait
    covariance_factor: np.ndarray  # F with F @ F.T = the coefficients' covariance, intercept first

    @classmethod
    def fit(cls, rows: pd.DataFrame, attended: np.ndarray, seed: int = 0) -> "AttendanceModel":
        """Fit on resolved decision-day rows; `attended` says whether the awaited stage happened.
        Rows without a booked date say nothing about the wait and are left out."""
        booked = rows[WAIT].notna().to_numpy()
        rows, attended = rows[booked], np.asarray(attended, dtype=int)[booked]
        if len(np.unique(attended)) < 2:
            raise ValueError(
                f"cannot fit the stage-attendance model: {len(rows)} booked decision points have a closed window, "
                "and they need to include both attended and missed stages (the data may be too recent or too small)")
        if len(rows) > MAX_FIT_ROWS:
            keep = np.sort(np.random.default_rng(seed).choice(len(rows), MAX_FIT_ROWS, replace=False))
            rows, attended = rows.iloc[keep], attended[keep]
        pipeline = _pipeline(seed, rows).fit(rows, attended)
        levels, basis = cls._wait_basis(pipeline)
        keys = group_keys(rows, list(WAIT_GROUPS))
        lead = np.clip(np.rint(rows[WAIT].to_numpy(float)), 0, LONGEST_LEAD).astype(np.int64)
        weight = np.zeros(basis.shape[:2])
        for level, i in levels.items():
            weight[i] = np.bincount(lead[keys == level], minlength=basis.shape[1])
        design = _with_intercept(pipeline.named_steps["preprocess"].transform(rows))
        factor = cls._covariance_factor(design, pipeline.predict_proba(rows)[:, 1])
        return cls(pipeline, levels, basis, weight, factor)

    @staticmethod
    def _wait_basis(pipeline: Pipeline) -> tuple[dict, np.ndarray]:
        wait = pipeline.named_steps["preprocess"].named_transformers_["wait"]
        levels = wait[0].levels_
        days = np.arange(LONGEST_LEAD + 1, dtype=float)
        unseen = GROUP_SEPARATOR.join(["(unseen)"] * len(WAIT_GROUPS))
        basis = np.stack([wait.transform(pd.DataFrame({WAIT: days, **dict(zip(WAIT_GROUPS, level.split(
            GROUP_SEPARATOR)))})) for level in (*levels, unseen)])
        return {level: i for i, level in enumerate(levels)}, basis

    @staticmethod
    def _covariance_factor(design: sparse.csr_matrix, probability: np.ndarray) -> np.ndarray:
        """Sandwich covariance of the penalised fit, H⁻¹ J H⁻¹ with J = C²XᵀWX, H = C·XᵀWX + I
        (the intercept unpenalised); returned as a factor F with F @ F.T = covariance (from its
        eigen-decomposition, which tolerates the near-singular directions one-hot columns leave)."""
        information = (design.T @ design.multiply((probability * (1 - probability))[:, None])).toarray()
        penalty = np.eye(design.shape[1]) / PENALTY_C
        penalty[0, 0] = 0.0
        inverse_hessian = np.linalg.pinv(information + penalty)
        covariance = inverse_hessian @ information @ inverse_hessian
        eigenvalues, eigenvectors = np.linalg.eigh((covariance + covariance.T) / 2)
        return eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))  # factor @ factor.T = covariance

    # ------------------------------------------------------------------ coefficients
    @property
    def _wait_columns(self) -> slice:
        columns = self.pipeline.named_steps["preprocess"].output_indices_["wait"]
        return slice(columns.start + 1, columns.stop + 1)  # +1: the intercept comes first

    def coefficients(self) -> np.ndarray:
        model = self.pipeline.named_steps["model"]
        return np.concatenate([model.intercept_, model.coef_[0]])

    def coefficient_sets(self, draws: int = 0, seed: int = 0) -> np.ndarray:
        """(1 + draws, 1 + features): the fitted coefficients, then draws from their covariance."""
        noise = np.random.default_rng(seed).standard_normal((draws, self.covariance_factor.shape[1]))
        return np.vstack([self.coefficients(), self.coefficients() + noise @ self.covariance_factor.T])

    def design(self, frame: pd.DataFrame) -> sparse.csr_matrix:
        return _with_intercept(self.pipeline.named_steps["preprocess"].transform(frame))

    # ------------------------------------------------------------------ the two parts of the logit
    def patient_logits(self, design: sparse.csr_matrix, coefficient_sets: np.ndarray) -> np.ndarray:
        """(sets, rows): each row's logit without its wait term, for each coefficient set."""
        without_wait = np.array(coefficient_sets, dtype=float, copy=True)
        without_wait[:, self._wait_columns] = 0.0
        return np.asarray(design @ without_wait.T).T

    def wait_tables(self, coefficient_sets: np.ndarray, non_increasing: bool = True) -> np.ndarray:
        """(sets, levels + 1, days): the wait term of the logit for each coefficient set, made
        non-increasing by isotonic regression weighted by the bookings at each wait."""
        tables = np.einsum("ldk,sk->sld", self.wait_basis, coefficient_sets[:, self._wait_columns])
        if non_increasing:
            days = np.arange(tables.shape[2])
            isotonic = IsotonicRegression(increasing=False)
            for s in range(tables.shape[0]):
                for level in range(tables.shape[1] - 1):  # the unseen group's term is flat already
                    tables[s, level] = isotonic.fit(days, tables[s, level],
                                                    sample_weight=self.wait_weight[level] + 1e-3).predict(days)
        return tables

    def level_index(self, frame: pd.DataFrame) -> np.ndarray:
        keys = group_keys(frame, list(WAIT_GROUPS))
        return np.asarray([self.levels.get(k, len(self.levels)) for k in keys], dtype=np.int64)

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        """P(attend) with the fitted coefficients and the non-increasing wait curve."""
        fitted = self.coefficient_sets()
        logit = self.patient_logits(self.design(frame), fitted)[0]
        return expit(logit + wait_term(self.wait_tables(fitted)[0], self.level_index(frame), frame[WAIT]))


def wait_term(table: np.ndarray, level: np.ndarray, lead) -> np.ndarray:
    """Look up a (levels, days) wait table at whole-day leads, clipped to the longest window."""
    days = np.clip(np.rint(np.asarray(lead, dtype=float)), 0, LONGEST_LEAD).astype(np.int64)
    return table[level, days]
