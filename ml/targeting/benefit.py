"""The benefit model: how much a call raises a waiting patient's chance of completing the pathway.

An X-learner (Künzel et al. 2019) built from the project's gradient boosting,
cross-fitted by patient:

1. nuisances on the other folds: the outcome among called rows (mu1) and among the
   others (mu0), and the propensity e(x) of being called (the pilot's assignment was
   partly random, partly staff-chosen, so it is estimated, never assumed);
2. imputed effects of every held-out row: Y - mu0 for a called row, mu1 - Y for the
   others, weighted 1 - e and e (each arm speaks where the other was rare);
3. a strongly regularised gradient-boosting regression of the imputed effects on the
   features, one per fold (trained on the other folds' rows), so every logged row has
   an out-of-fold uplift for an honest Qini; the deployed model averages the folds'
   models, and their spread is the interval shown.

The doubly robust pseudo-outcome mu1 - mu0 + (T - e) / (e (1 - e)) (Y - mu_T) of
each row is kept for the Qini curve on the log, and ``learner="dr"`` regresses it
instead (a DR-learner, Kennedy 2023).  On a hand-made log with a known uplift the
X-learner reached 0.86–0.90 of the oracle's policy value against 0.77–0.78 for the
DR-learner, whose pseudo-outcomes are far noisier at call shares of 20–50 %.

The uplift is on the awaited stage (done within its window, the outcome that is final
soonest); the gain in completing the pathway is that uplift times the chance of not
dropping out afterwards once the stage is done (``ContinuationModel``, learned from
decision points whose pathway outcome is final).

Why not causalml: it would pull a heavy stack for two learners we can write in sixty
lines on sklearn's HistGradientBoosting, whose behaviour (native categoricals, missing
values, monotone constraints) the risk models already rely on.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import log_loss
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline

from ml.category_codes import CategoryCodes
from ml.features import CATEGORICAL_FEATURES, model_inputs
from ml.risk.folds import stratified_group_folds


@dataclass(frozen=True)
class BenefitConfig:
    n_folds: int = 3
    random_state: int = 0
    learner: str = "disposition"     # "disposition", "x" (X-learner) or "dr" (doubly robust)
    nuisance_max_iter: int = 100
    nuisance_learning_rate: float = 0.1
    nuisance_min_samples_leaf: int = 100
    effect_max_iter: int = 150
    effect_learning_rate: float = 0.03
    effect_max_leaf_nodes: int = 8
    effect_min_samples_leaf: int = 400
    effect_l2_regularization: float = 10.0
    propensity_clip: float = 0.03    # keep pseudo-outcomes finite where a call was (nearly) certain or impossible
    # P(rebooked): the "chain" P(number works) × P(reached | it works) × P(rebooked | reached),
    # each from its own disposition label and its own features (``rebook_features``);
    # "single": one classifier of the rebooked label; "average": both averaged.  Each is a
    # shallow gradient boosting (the rebooking labels are a few thousand noisy 0/1s: deep
    # trees fit the noise), its depth and number of trees chosen by grouped cross-validated
    # log-loss on the called rows.  The chain with features by step is the default: over
    # seeds 7-9 it reached 0.868 of the oracle at k = 25 (mean; 0.863 averaged with the
    # single classifier, 0.854 for that average with every feature everywhere), 0.912 at k = 100.
    rebook: str = "chain"
    rebook_depths: tuple = (1, 2, 3)
    rebook_iters: tuple = (100, 200, 400)
    rebook_learning_rate: float = 0.05
    rebook_min_samples_leaf: int = 20
    rebook_cv_folds: int = 3
    # "by_step": each step of the chain sees only the features that bear on it (STEP_FEATURES);
    # "all": every step sees every feature.
    rebook_features: str = "by_step"
    # Above these many rows the logged rows and the untouched landmark rows are sampled by whole
    # patients (ml.sampling; None: never), as the risk models' rows are.
    max_logged_rows: int | None = 150_000
    max_untreated_rows: int | None = 300_000

    def to_dict(self) -> dict:
        return asdict(self)


def _preprocess(features) -> ColumnTransformer:
    categorical = [f for f in features if f in CATEGORICAL_FEATURES]
    numeric = [f for f in features if f not in categorical]
    return ColumnTransformer([
        ("numeric", "passthrough", numeric),
        ("categorical", CategoryCodes(), categorical),
    ]), [False] * len(numeric) + [True] * len(categorical)


def _classifier(features, config: BenefitConfig) -> Pipeline:
    preprocess, categorical = _preprocess(features)
    return Pipeline([("preprocess", preprocess), ("model", HistGradientBoostingClassifier(
        learning_rate=config.nuisance_learning_rate, max_iter=config.nuisance_max_iter, max_leaf_nodes=15,
        min_samples_leaf=config.nuisance_min_samples_leaf, l2_regularization=1.0, early_stopping=False,
        categorical_features=categorical, random_state=config.random_state))])


def _shallow_classifier(features, config: BenefitConfig, depth: int, iters: int) -> Pipeline:
    preprocess, categorical = _preprocess(features)
    return Pipeline([("preprocess", preprocess), ("model", HistGradientBoostingClassifier(
        learning_rate=config.rebook_learning_rate, max_iter=iters, max_depth=depth, max_leaf_nodes=None,
        min_samples_leaf=config.rebook_min_samples_leaf, l2_regularization=1.0, early_stopping=False,
        categorical_features=categorical, random_state=config.random_state))])


def select_shallow(X, label, groups, features, config: BenefitConfig) -> tuple[int, int]:
    """(depth, trees) of the shallow classifier with the lowest grouped cross-validated log-loss.

    Per depth and fold one classifier of the most trees is fitted, and each smaller number of
    trees is scored on its first trees (staged predictions): without early stopping or
    subsampling those are exactly the trees a classifier of that size would grow, and the grid
    costs one fit per depth and fold instead of one per (depth, trees) pair."""
    label = np.asarray(label, int)
    best, chosen = np.inf, (config.rebook_depths[0], config.rebook_iters[0])
    if not features or len(np.unique(groups)) < config.rebook_cv_folds or min(label.sum(), (1 - label).sum()) < 20:
        return chosen  # too few to choose by (and _fit_or_rate keeps the rate where a label barely varies)
    folds = list(GroupKFold(config.rebook_cv_folds).split(X, label, groups))
    most = max(config.rebook_iters)
    for depth in config.rebook_depths:
        predicted = {iters: np.empty(len(label)) for iters in config.rebook_iters}
        for train, test in folds:
            fitted = _fit_or_rate(X.iloc[train], label[train], lambda: _shallow_classifier(features, config,
                                                                                           depth, most))
            for iters, chance in _staged_chances(fitted, X.iloc[test], config.rebook_iters).items():
                predicted[iters][test] = chance
        for iters in config.rebook_iters:
            loss = log_loss(label, np.clip(predicted[iters], 1e-6, 1 - 1e-6), labels=[0, 1])
            if loss < best:
                best, chosen = loss, (depth, iters)
    return chosen


def _staged_chances(fitted, X, iters) -> dict:
    """P(label) of the rows X after each number of trees in ``iters``, from a pipeline fitted with
    at least that many (or a constant rate, the same at every size)."""
    if isinstance(fitted, float):
        return {n: np.full(len(X), fitted) for n in iters}
    wanted, chances = set(iters), {}
    for n, proba in enumerate(fitted[-1].staged_predict_proba(fitted[:-1].transform(X)), start=1):
        if n in wanted:
            chances[n] = proba[:, 1]
    return chances


def _regressor(features, config: BenefitConfig) -> Pipeline:
    preprocess, categorical = _preprocess(features)
    return Pipeline([("preprocess", preprocess), ("model", HistGradientBoostingRegressor(
        learning_rate=config.effect_learning_rate, max_iter=config.effect_max_iter,
        max_leaf_nodes=config.effect_max_leaf_nodes, min_samples_leaf=config.effect_min_samples_leaf,
        l2_regularization=config.effect_l2_regularization, early_stopping=False,
        categorical_features=categorical, random_state=config.random_state))])


def _proba(model, X) -> np.ndarray:
    return model.predict_proba(X)[:, 1]


def patient_folds(treatment: np.ndarray, groups: np.ndarray, config: BenefitConfig) -> list:
    """Folds that keep all rows of a patient together, balanced on who was called."""
    return stratified_group_folds(treatment, groups, config.n_folds, config.random_state)


def _nuisances(X, t, y, train, test, features, config):
    """(mu0, mu1, e) for the test rows, fitted on the train rows."""
    fitted = {}
    for arm in (0, 1):
        rows = train[t[train] == arm]
        ys = y[rows]
        fitted[arm] = (np.full(len(test), ys.mean()) if len(np.unique(ys)) < 2
                       else _proba(_classifier(features, config).fit(X.iloc[rows], ys), X.iloc[test]))
    e = _proba(_classifier(features, config).fit(X.iloc[train], t[train]), X.iloc[test])
    return fitted[0], fitted[1], np.clip(e, config.propensity_clip, 1 - config.propensity_clip)


def pseudo_outcomes(t, y, mu0, mu1, e) -> np.ndarray:
    """Doubly robust pseudo-outcome per row: its mean over any subgroup estimates the subgroup's uplift."""
    mu_t = np.where(t == 1, mu1, mu0)
    return mu1 - mu0 + (t - e) / (e * (1 - e)) * (y - mu_t)


def _fit_or_rate(X, label, make):
    """A classifier of ``label`` (``make()`` fitted), or its rate where it barely varies (e.g. no
    wrong number logged)."""
    label = np.asarray(label, int)
    if len(label) == 0:
        return 0.0
    if len(np.unique(label)) < 2 or min(label.sum(), (1 - label).sum()) < 20:
        return float(label.mean())
    return make().fit(X, label)


def _chance(model, X) -> np.ndarray:
    return np.full(len(X), model) if isinstance(model, float) else _proba(model, X)


def rebook_labels(t, rebooked, reached=None, wrong=None, how: str = "average") -> dict:
    """The disposition labels P(rebooked) is learned from: name -> (rows mask, label).

    ``single``: rebooked among called rows.  ``chain``: the steps a call goes through, each on
    the rows that got to it: the number works (no wrong_number; all called rows), an attempt
    reaches the patient (rows whose number worked), the barrier is removed in time (reached rows).
    ``average``: both (their P(rebooked) averaged)."""
    t, rebooked = np.asarray(t, int), np.asarray(rebooked, int)
    called = t == 1
    labels = {}
    if how in ("single", "average") or reached is None or wrong is None:
        labels["rebooked"] = (called, rebooked)
    if how in ("chain", "average") and reached is not None and wrong is not None:
        reached, wrong = np.asarray(reached, int), np.asarray(wrong, int)
        works = called & (wrong == 0)
        labels["works"] = (called, 1 - wrong)
        labels["reached"] = (works, reached)
        labels["rebooked_if_reached"] = (works & (reached == 1), rebooked)
    return labels


PATHS = (("rebooked",), ("works", "reached", "rebooked_if_reached"))

# What each step of a call depends on, as a navigation team would list it.  The number on file
# works: insurance and deprivation (phone plans lapse, people move), age, where they live.  An
# attempt reaches the patient: language, portal use and past no-shows (how engaged and how
# reachable), age, insurance, deprivation.  A reached patient is rebooked in time: which barrier
# stands (the booked wait: lead time, days to or past the booking; cost and transport:
# out-of-pocket estimate, distance, insurance), what the stage is, and the time left in the
# window.  Each step has a few hundred to fifteen hundred noisy 0/1 labels: given every feature,
# its trees also split on ones that do not bear on it (site, season, comorbidity), which blurs
# exactly the differences the ranking needs (e.g. a patient with no removable barrier looks
# like the average reached patient).  The single rebooked classifier keeps every feature.
STEP_FEATURES = {
    "works": ("payer", "adi", "age", "region", "site"),
    "reached": ("language", "portal_user", "prior_no_shows_12m", "age", "payer", "adi"),
    "rebooked_if_reached": ("awaiting_stage", "program", "payer", "lead_days", "days_until_appointment",
                            "days_past_booking", "est_out_of_pocket", "distance_km", "days_left_in_window",
                            "waited_days"),
}


def step_features(step: str, features, config: BenefitConfig) -> tuple:
    """The features the classifier of one disposition label sees (those of ``features`` that bear on it)."""
    if config.rebook_features == "all" or step not in STEP_FEATURES:
        return tuple(features)
    return tuple(f for f in STEP_FEATURES[step] if f in features)


@dataclass
class RebookingEffect:
    """Uplift = a × P(a call rebooks the patient | x) × P(stage not done without a call | x).

    A call helps only when it reaches the patient and removes the barrier (the log says so:
    disposition reached_rebooked), and only a patient who would not have come anyway gains.
    P(rebooked) is learned from the called rows' dispositions, far less noisy labels than
    the stage outcome (``rebook_labels``): the chain a call goes through (the number works;
    an attempt reaches the patient; the barrier is removed in time), each step from the rows
    that got to it and from the features that bear on it (``STEP_FEATURES``: payer and
    deprivation for the number; language, portal use and no-shows for the answer; the booked
    wait, costs and time left for the rebooking), or one classifier of the rebooked label, or
    the two averaged (``BenefitConfig.rebook``).  P(not done without a call) comes from decision points no outreach touched
    (``untreated``, see ``ml.targeting.rows.unexposed_rows``), or else from the logged rows
    nobody called that week; the scalar a (the share of rebooked patients who then attend
    and would not have otherwise) from the called rows' outcomes by the method of moments,
    which the random share of the assignment keeps honest.
    """
    paths: tuple        # per path, fitted models (or constant rates) whose chances multiply to P(rebooked)
    untreated: object
    attend_share: float

    @classmethod
    def fit(cls, X, t, y, rebooked, features, config: BenefitConfig, reached=None, wrong=None,
            shapes: dict | None = None, untreated=None) -> "RebookingEffect":
        t, y = np.asarray(t, int), np.asarray(y, int)
        called, control = t == 1, t == 0
        labels = rebook_labels(t, rebooked, reached, wrong, config.rebook)
        shapes = shapes or {}
        fitted = {}
        for name, (mask, label) in labels.items():
            inputs = step_features(name, features, config)
            # None of a step's features in the data: its rate is all there is to know.
            fitted[name] = (_fit_or_rate(X[mask], label[mask], lambda inputs=inputs, name=name: _shallow_classifier(
                inputs, config, *shapes.get(name, (config.rebook_depths[0], config.rebook_iters[0]))))
                if inputs else float(np.mean(label[mask])) if mask.any() else 0.0)
        paths = tuple(tuple(fitted[step] for step in path) for path in PATHS if all(s in fitted for s in path))
        if untreated is None:
            untreated = _classifier(features, config).fit(X[control], y[control])
        model = cls(paths, untreated, 1.0)
        p_rebook, p_done = model.rebook_chance(X[called]), _proba(untreated, X[called])
        share = (y[called].mean() - p_done.mean()) / max(1e-9, (p_rebook * (1 - p_done)).mean())
        model.attend_share = float(np.clip(share, 0.0, 1.0))
        return model

    def rebook_chance(self, X) -> np.ndarray:
        chances = []
        for path in self.paths:
            chance = np.ones(len(X))
            for step in path:
                chance = chance * _chance(step, X)
            chances.append(chance)
        return np.mean(chances, axis=0)

    def predict(self, X) -> np.ndarray:
        return self.attend_share * self.rebook_chance(X) * (1 - _proba(self.untreated, X))


@dataclass
class StageUpliftModel:
    """Cross-fitted uplift on the awaited stage; predict() averages the fold models."""
    features: tuple
    effect_models: list
    config: BenefitConfig
    out_of_fold: np.ndarray      # each logged row's uplift from the model that did not see it
    pseudo: np.ndarray           # each logged row's DR pseudo-outcome (for the honest Qini)
    propensity: np.ndarray       # out-of-fold propensity of each logged row

    @classmethod
    def fit(cls, rows: pd.DataFrame, treatment, outcome, groups, features,
            config: BenefitConfig | None = None, rebooked=None, reached=None, wrong=None,
            untreated_rows: pd.DataFrame | None = None, untreated_outcome=None) -> "StageUpliftModel":
        config = config or BenefitConfig()
        features = tuple(features)
        X = model_inputs(rows, features)
        t, y = np.asarray(treatment, int), np.asarray(outcome, float)
        folds = patient_folds(t, np.asarray(groups), config)
        mu0, mu1, e = (np.empty(len(t)) for _ in range(3))
        for train, test in folds:
            mu0[test], mu1[test], e[test] = _nuisances(X, t, y, train, test, features, config)
        pseudo = pseudo_outcomes(t, y, mu0, mu1, e)
        if config.learner == "disposition":
            if rebooked is None:
                raise ValueError("the rebooking learner needs each called row's rebooked label (from the dispositions)")
            r = np.asarray(rebooked, int)
            a = None if reached is None else np.asarray(reached, int)
            w = None if wrong is None else np.asarray(wrong, int)
            # Depth and trees of each disposition classifier: chosen once on all called rows
            # (two numbers per label; the fold models below reuse them).
            shapes = {name: select_shallow(X[mask], label[mask], np.asarray(groups)[mask],
                                           step_features(name, features, config), config)
                      for name, (mask, label) in rebook_labels(t, r, a, w, config.rebook).items()}
            untreated = None
            if untreated_rows is not None and len(untreated_rows):
                # Points no outreach touched: one model for every fold (none of them is a logged row).
                untreated = _classifier(features, config).fit(model_inputs(untreated_rows, features),
                                                              np.asarray(untreated_outcome, int))
            models, oof = [], np.empty(len(t))
            for train, test in folds:
                model = RebookingEffect.fit(X.iloc[train], t[train], y[train], r[train], features, config,
                                            None if a is None else a[train], None if w is None else w[train],
                                            shapes=shapes, untreated=untreated)
                oof[test] = model.predict(X.iloc[test])
                models.append(model)
            return cls(features, models, config, oof, pseudo, e)
        if config.learner == "x":
            # X-learner: imputed effects per arm, blended by the propensity.
            imputed = np.where(t == 1, y - mu0, mu1 - y)
            weight = np.where(t == 1, 1 - e, e)  # treated rows inform where calls were rare, and vice versa
        else:
            imputed, weight = pseudo, np.ones(len(t))
        models, oof = [], np.empty(len(t))
        for train, test in folds:
            model = _regressor(features, config).fit(X.iloc[train], imputed[train],
                                                     model__sample_weight=weight[train])
            oof[test] = model.predict(X.iloc[test])
            models.append(model)
        return cls(features, models, config, oof, pseudo, e)

    def predict_all(self, rows: pd.DataFrame) -> np.ndarray:
        """(fold models, rows) of predicted stage uplift."""
        X = model_inputs(rows, self.features)
        return np.stack([m.predict(X) for m in self.effect_models])

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return self.predict_all(rows).mean(axis=0)


# What happens after the awaited stage does not depend on how long the patient waited for it.
WAITING_FEATURES = ("waited_days", "days_until_appointment", "days_past_booking", "days_left_in_window")


@dataclass
class ContinuationModel:
    """P(not dropping out afterwards | the awaited stage was done), per patient: gradient
    boosting on decision points whose pathway outcome is final and whose awaited stage
    happened, on their decision day.  Patients differ here as much as in the call's uplift
    (the same barriers that keep them waiting stop them later)."""
    features: tuple
    model: object

    @classmethod
    def fit(cls, decision_rows: pd.DataFrame, features, config: BenefitConfig | None = None):
        config = config or BenefitConfig()
        done = decision_rows[decision_rows["label_known"] & decision_rows["next_stage_date"].notna()]
        features = tuple(f for f in features if f not in WAITING_FEATURES and f in done.columns)
        target = 1 - done["dropped_out"].astype(int).to_numpy()
        if len(done) < 100 or len(np.unique(target)) < 2:
            return None
        return cls(features, _classifier(features, config).fit(model_inputs(done, features), target))

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return _proba(self.model, model_inputs(rows, self.features))


def continuation_rates(points: pd.DataFrame) -> dict:
    """P(not dropping out afterwards | the awaited stage was done), per (program, stage),
    from decision points whose pathway outcome is final; 1.0 where nothing is known
    (e.g. the last stage, after which the pathway is complete)."""
    final = points[points["label_known"] & points["next_stage_date"].notna()]
    rates = (1 - final["dropped_out"].astype(float)).groupby(
        [final["program"].astype(str), final["awaiting_stage"].astype(str)]).mean()
    return {f"{program}/{stage}": float(rate) for (program, stage), rate in rates.items()}


def continuation_of(rows: pd.DataFrame, rates: dict) -> np.ndarray:
    keys = rows["program"].astype(str) + "/" + rows["awaiting_stage"].astype(str)
    return keys.map(rates).fillna(1.0).to_numpy(float)


@dataclass
class BenefitModel:
    """Expected gain in P(completing the pathway) from one call now, per waiting patient."""
    stage: StageUpliftModel
    continuation: dict                           # per (program, stage): the fallback
    continuation_model: ContinuationModel | None = None

    def expected_gain(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(gain, low, high): the fold models' mean, and their minimum and maximum."""
        if rows.empty:
            empty = np.zeros(0)
            return empty, empty, empty
        after = (self.continuation_model.predict(rows) if self.continuation_model is not None
                 else continuation_of(rows, self.continuation))
        per_fold = self.stage.predict_all(rows) * after
        return per_fold.mean(axis=0), per_fold.min(axis=0), per_fold.max(axis=0)
