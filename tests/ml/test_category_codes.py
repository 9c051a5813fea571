"""ml.category_codes.CategoryCodes must code text categories exactly as scikit-learn's OrdinalEncoder
(sorted categories; missing and unseen values NaN), which it replaced for speed in every tree model."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import OrdinalEncoder

from ml.category_codes import CategoryCodes


def _reference():
    return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan)


def _frame(seed: int, n: int = 5000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = np.array(["Medicaid", "Medicare", "Commercial", "Uninsured", "VA", "b", "B", "ä"], dtype=object)
    frame = pd.DataFrame({
        "object_text": pd.Series(rng.choice(values, n), dtype=object),
        "arrow_text": pd.Series(rng.choice(values[:5], n)).astype("str"),  # pandas 3's default text dtype
        "with_none": pd.Series(rng.choice(np.append(values[:3], None), n), dtype=object),
        "with_nan": pd.Series(rng.choice(values[:4], n), dtype=object),
    })
    frame.loc[rng.random(n) < 0.1, "with_nan"] = np.nan
    frame.loc[rng.random(n) < 0.1, "arrow_text"] = np.nan
    return frame


def _none_as_nan(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), np.nan)


@pytest.mark.parametrize("seed", [0, 1])
def test_same_codes_as_scikit_learn_including_gaps_and_unseen_values(seed):
    fit, later = _frame(seed), _frame(seed + 10)
    later.loc[:20, "object_text"] = "never seen"
    later.loc[21:40, "arrow_text"] = "also new"
    ours, theirs = CategoryCodes().fit(fit), _reference().fit(_none_as_nan(fit))
    for frame in (fit, later):
        assert np.array_equal(ours.transform(frame), theirs.transform(_none_as_nan(frame)), equal_nan=True)
    assert ours.transform(later.iloc[:0]).shape == (0, 4)


def test_none_is_a_gap_as_nan_is():
    """A table read back from the workspace's Parquet has None where a derived one has NaN; both
    are the same gap. (scikit-learn's encoder makes None a category of its own.)"""
    with_none = pd.DataFrame({"payer": pd.Series(["VA", None, "Medicare", None], dtype=object)})
    with_nan = pd.DataFrame({"payer": pd.Series(["VA", np.nan, "Medicare", np.nan], dtype=object)})
    codes = CategoryCodes().fit(with_none)
    assert list(codes.categories_[0]) == ["Medicare", "VA"]
    assert np.array_equal(codes.transform(with_none), codes.transform(with_nan), equal_nan=True)
    assert np.isnan(codes.transform(with_none)[[1, 3], 0]).all()
    # A column without a single recorded value has no categories: everything NaN, as scikit-learn has.
    empty = pd.DataFrame({"x": pd.Series([None] * 5, dtype=object)})
    assert np.isnan(CategoryCodes().fit(empty).transform(empty)).all()


def test_numpy_input_and_feature_names():
    frame = _frame(2, 300)
    ours = CategoryCodes().fit(frame)
    assert list(ours.get_feature_names_out()) == list(frame.columns)
    array = frame.astype(object).to_numpy()
    reference = _none_as_nan(frame).to_numpy()
    assert np.array_equal(CategoryCodes().fit(array).transform(array),
                          _reference().fit(reference).transform(reference), equal_nan=True)
    with pytest.raises(ValueError, match="features"):
        ours.transform(frame.iloc[:, :2])


def test_the_gradient_boosting_pipeline_predicts_as_with_scikit_learns_encoder(small_dataset):
    """The swap must not move a single prediction: same trees from the same codes."""
    from sklearn.base import clone

    from ml.features import LABEL, model_inputs, usable_features
    from ml.risk.models import TrainingConfig, gradient_boosting
    from ml.workspace import AnalyticWorkspace

    rows = AnalyticWorkspace.of(small_dataset).training_rows
    features = usable_features(rows).used
    X, y = model_inputs(rows, features), rows[LABEL].to_numpy()
    config = TrainingConfig(gb_max_iter=60)
    ours = gradient_boosting(config, features)
    theirs = clone(ours).set_params(preprocess__categorical=_reference())
    assert np.array_equal(ours.fit(X, y).predict_proba(X), theirs.fit(X, y).predict_proba(X))
