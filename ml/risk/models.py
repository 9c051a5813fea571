"""The two dropout-risk models as sklearn Pipelines, built from one training config.

Both are built for the feature set the data supports (ml.features.usable_features).
Logistic regression: numerics median-imputed with a missing indicator (added only for
a feature that has gaps in the training rows) and scaled; a missing category becomes
its own "not recorded" level, never the most frequent one. Gradient boosting
(LightGBM): numerics and categoricals go in with their gaps, which the trees route
natively; categoricals are ordinal-encoded for native categorical splits, which
measured more data-efficient than one-hot on this data; monotone constraints encode
clinical knowledge that more no-shows, longer waits or a missed booking never *lower*
risk. LightGBM replaced scikit-learn's HistGradientBoosting with the same settings
(trees of 5 leaves, 360 rounds, 300 rows a leaf, L2 5): at 1M patients it fitted in
0.24 of the time at equal AUC (bench/RESULTS.md, issue 14). Its OpenMP threads wait
passively (set where the ``ml`` package is imported, ml/__init__.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from lightgbm import LGBMClassifier
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ml.category_codes import CategoryCodes
from ml.features import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES

MODEL_NAMES = ("logistic_regression", "gradient_boosting")
MODEL_LABELS = {"logistic_regression": "Logistic regression", "gradient_boosting": "Gradient boosting"}
# The level a missing category is one-hot encoded as (a value no contract category takes).
NOT_RECORDED = "(not recorded)"

# +1: risk can only rise with the feature; -1: only fall.
MONOTONE_RISK = {
    "prior_no_shows_12m": 1, "distance_km": 1, "adi": 1, "est_out_of_pocket": 1, "portal_user": -1,
    "lead_days": 1, "days_past_booking": 1, "missed_previous_appointment": 1, "prior_decisions_missed": 1,
    "previous_stage_days": 1,
}


@dataclass(frozen=True)
class TrainingConfig:
    n_folds: int = 5
    random_state: int = 0
    lr_C: float = 1.0
    gb_learning_rate: float = 0.05
    gb_max_iter: int = 360
    gb_max_leaf_nodes: int = 5
    gb_min_samples_leaf: int = 300
    gb_l2_regularization: float = 5.0
    temporal_holdout_share: float = 0.2
    bootstrap_resamples: int = 200
    explanation_permutations: int = 12
    importance_rows: int = 3000
    n_jobs: int = 2
    # Above this many training rows the CV folds are fitted one after another: two logistic-
    # regression folds side by side held two copies of the one-hot design and made the 1M first
    # start's peak (4.09 GB against 4 GB; bench/RESULTS.md), for about 40 s saved.
    parallel_folds_max_rows: int = 500_000
    # Above this many labelled landmark rows the models are trained and evaluated on a random
    # sample of whole patients that fits under it (ml.sampling; None: never sampled).
    max_training_rows: int | None = 300_000
    # Learn the risk if no one calls (ml.drop_in); off only to measure what it changes.
    handle_drop_in: bool = True
    monotone: dict = field(default_factory=lambda: dict(MONOTONE_RISK))

    def to_dict(self) -> dict:
        return asdict(self)


def _split(features) -> tuple[list[str], list[str]]:
    """(numeric, categorical) features, each in FEATURES order."""
    chosen = set(features)
    return ([f for f in NUMERIC_FEATURES if f in chosen], [f for f in CATEGORICAL_FEATURES if f in chosen])


def logistic_regression(config: TrainingConfig, features=FEATURES) -> Pipeline:
    numeric, categorical = _split(features)
    preprocess = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
        ("categorical", make_pipeline(SimpleImputer(strategy="constant", fill_value=NOT_RECORDED),
                                      OneHotEncoder(handle_unknown="ignore")), categorical),
    ])
    model = LogisticRegression(C=config.lr_C, max_iter=3000, random_state=config.random_state)
    return Pipeline([("preprocess", preprocess), ("model", model)])


class NativeCategoricalLGBM(LGBMClassifier):
    """LGBMClassifier that always fits with native categorical splits on ``categorical_columns``
    (positions in its input): LightGBM takes them as a fit argument, which a Pipeline's plain
    fit(X, y) would leave out, and warns when they come as a constructor parameter."""

    def __init__(self, *, categorical_columns=(), **kwargs):
        super().__init__(**kwargs)
        self.categorical_columns = categorical_columns

    def fit(self, X, y, sample_weight=None, **kwargs):
        return super().fit(X, y, sample_weight=sample_weight, categorical_feature=list(self.categorical_columns),
                           **kwargs)


def gradient_boosting(config: TrainingConfig, features=FEATURES) -> Pipeline:
    numeric, categorical = _split(features)
    preprocess = ColumnTransformer([
        # No imputation: a gap is routed to whichever side of each split fits it best.
        ("numeric", "passthrough", numeric),
        ("categorical", CategoryCodes(), categorical),
    ])
    model = NativeCategoricalLGBM(
        learning_rate=config.gb_learning_rate, n_estimators=config.gb_max_iter,
        num_leaves=config.gb_max_leaf_nodes, min_child_samples=config.gb_min_samples_leaf,
        reg_lambda=config.gb_l2_regularization, max_bin=255, subsample=1.0, colsample_bytree=1.0,
        monotone_constraints=[config.monotone.get(c, 0) for c in numeric] + [0] * len(categorical),
        categorical_columns=list(range(len(numeric), len(numeric) + len(categorical))),
        # Two fits of the same rows give the same trees: deterministic, and the histogram layout
        # fixed (LightGBM otherwise picks row- or column-wise by timing the first iteration).
        deterministic=True, force_row_wise=True, random_state=config.random_state,
        n_jobs=config.n_jobs, verbose=-1,
    )
    return Pipeline([("preprocess", preprocess), ("model", model)])


BUILDERS = {"logistic_regression": logistic_regression, "gradient_boosting": gradient_boosting}
# Models whose learner runs config.n_jobs threads itself: their cross-validation folds are fitted
# one after another (fold-parallel fits would oversubscribe the cores and hold a copy of the
# rows per fold at once).
SELF_THREADED = frozenset({"gradient_boosting"})


def build(name: str, config: TrainingConfig, features=FEATURES) -> Pipeline:
    return BUILDERS[name](config, tuple(features))
