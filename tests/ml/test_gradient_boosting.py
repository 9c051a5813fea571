"""The risk model's gradient boosting (LightGBM): reproducible, with native categorical splits
and the monotone constraints of clinical knowledge, whatever the number of threads."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from ml.features import LABEL, model_inputs, training_rows, usable_features
from ml.risk.models import TrainingConfig, gradient_boosting


@pytest.fixture(scope="module")
def fitted_inputs(small_dataset):
    rows = training_rows(small_dataset.patients, small_dataset.events, small_dataset.as_of)
    features = usable_features(rows).used
    return model_inputs(rows, features), rows[LABEL].to_numpy(), features


def _fit(config, features, X, y, n_jobs):
    return gradient_boosting(replace(config, n_jobs=n_jobs), features).fit(X, y)


def test_two_fits_of_the_same_rows_give_the_same_model_on_any_number_of_threads(fitted_inputs):
    """Bug guarded: LightGBM's default picks its histogram layout by timing the first iteration
    and sums gradients in thread order, so a retrain on the same data (another worker, another
    core count) could ship a different model, its report and worklist order with it."""
    X, y, features = fitted_inputs
    config = TrainingConfig(gb_max_iter=80)
    risks = [_fit(config, features, X, y, n_jobs).predict_proba(X)[:, 1] for n_jobs in (2, 1, 2)]
    assert all(np.array_equal(risks[0], other) for other in risks[1:])
    trees = [json.dumps(_fit(config, features, X, y, 2).named_steps["model"].booster_.dump_model()["tree_info"])
             for _ in range(2)]
    assert trees[0] == trees[1]


def _decision_types(node, found):
    if "decision_type" in node:
        found.add((node["split_feature"], node["decision_type"]))
        _decision_types(node["left_child"], found)
        _decision_types(node["right_child"], found)
    return found


def test_categoricals_split_natively_and_monotone_features_never_lower_risk(fitted_inputs):
    """Bugs guarded: the categorical columns handed to LightGBM as plain numbers (ordinal codes
    split by <=, as if sites were ordered), which a Pipeline's fit(X, y) does unless the learner
    takes them itself; the monotone constraints lost in the mapping from the settings."""
    X, y, features = fitted_inputs
    pipeline = _fit(TrainingConfig(gb_max_iter=80), features, X, y, 2)
    booster = pipeline.named_steps["model"].booster_
    splits = set()
    for tree in booster.dump_model()["tree_info"]:
        _decision_types(tree["tree_structure"], splits)
    numeric_count = len(pipeline.named_steps["preprocess"].transformers_[0][2])
    categorical_splits = {kind for feature, kind in splits if feature >= numeric_count}
    assert categorical_splits == {"=="}
    row = X.iloc[[0] * 8].copy()
    row["prior_no_shows_12m"] = np.arange(8.0)
    risk = pipeline.predict_proba(row)[:, 1]
    assert (np.diff(risk) >= 0).all() and risk[-1] > risk[0]


def test_shapley_contributions_in_batches_equal_one_batch_and_add_up(monkeypatch):
    """Patients are explained in batches to bound memory at 1M. Bugs guarded: each batch drawing
    its own permutations (a patient's drivers would depend on who was explained alongside), rows
    of one batch misplaced, the contributions no longer adding up to risk minus reference risk."""
    import pandas as pd

    from ml.risk import explain

    rng = np.random.default_rng(2)
    X = pd.DataFrame({"age": rng.normal(60, 10, 50), "distance_km": rng.exponential(10, 50),
                      "payer": rng.choice(["a", "b", "c"], 50)})
    reference = pd.DataFrame({"age": [60.0], "distance_km": [8.0], "payer": ["a"]})

    def predict(frame):  # not additive: the interactions make the permutations matter
        bump = (frame["payer"] == "b").to_numpy() * 0.3
        age, distance = frame["age"].to_numpy(float), frame["distance_km"].to_numpy(float)
        return 1 / (1 + np.exp(-(0.03 * (age - 60) * (1 + bump) + 0.02 * distance * bump)))

    whole = explain.shapley_contributions(predict, X, reference, n_permutations=6, seed=1)
    monkeypatch.setattr(explain, "SHAPLEY_BATCH_ROWS", 7)
    batched = explain.shapley_contributions(predict, X, reference, n_permutations=6, seed=1)
    pd.testing.assert_frame_equal(batched, whole)
    np.testing.assert_allclose(batched.sum(axis=1), predict(X) - predict(reference)[0], atol=1e-12)
