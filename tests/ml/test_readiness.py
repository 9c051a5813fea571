"""Valid data the models cannot take as they are: they train without what the data lack, or
say why there is no model (the rule and its threshold) instead of raising a traceback."""
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from data.io import write_dataset
from data.readiness import MIN_BOOKING_COVERAGE, MIN_LABELLED_DECISION_POINTS, MIN_PER_CLASS
from ml.features import BOOKING_FEATURES
from ml.registry import get_models, load_or_train
from ml.risk.training import ModelUnavailable, train_models
from tests.broken_datasets import first_patients, modified, short_history, stray_future_event, without_bookings
from tests.conftest import fast_training_config


# Fewer trees and resamples still than the suite's fast config: these tests check that training
# runs and what it reports, not how well it ranks.
LEAN = replace(fast_training_config(), gb_max_iter=40, bootstrap_resamples=8, explanation_permutations=2,
               importance_rows=500)


def _quiet(message):
    pass


def _fed_to(pipeline) -> set[str]:
    """The columns a pipeline's preprocessing actually selects."""
    return {column for _, _, columns in pipeline.named_steps["preprocess"].transformers for column in columns}


def test_without_bookings_both_models_train_and_the_report_says_what_was_left_out(small_dataset):
    bundle = train_models(without_bookings(small_dataset), LEAN, log=_quiet)
    dropped = {item["feature"]: item["reason"] for item in bundle.report["features"]["dropped"]}
    assert set(dropped) == set(BOOKING_FEATURES)
    reason = dropped["lead_days"]
    assert "next_appointment_date" in reason and f"{MIN_BOOKING_COVERAGE:.0%}" in reason
    for name, pipeline in bundle.pipelines.items():
        assert not _fed_to(pipeline) & set(BOOKING_FEATURES), name
        assert bundle.report["models"][name]["roc_auc"] > 0.55
        assert not {row["feature"] for row in bundle.report["models"][name]["permutation_importance"]} \
            & set(BOOKING_FEATURES)
    assert len(bundle.scores) and bundle.scores["risk"].between(0, 1).all()
    assert all(isinstance(text, str) for text in bundle.scores["top_drivers"])
    # Without booking dates the call model cannot see the staff's overdue rule: the drop-in
    # weights are not trusted, the fit is unweighted, and the report and the model card say so.
    drop_in = bundle.report["drop_in"]
    assert drop_in["handled"] is False and drop_in["fallback"] is True, drop_in
    assert bundle.report["models"]["gradient_boosting"]["calibration_untreated"] is None


def test_with_bookings_nothing_is_left_out(small_models):
    assert small_models.report["features"]["dropped"] == []
    assert set(BOOKING_FEATURES) <= _fed_to(small_models.pipelines["gradient_boosting"])


def test_a_history_shorter_than_the_outcome_horizon_gives_no_model_and_says_the_threshold(small_dataset):
    with pytest.raises(ModelUnavailable) as raised:
        train_models(short_history(small_dataset), LEAN, log=_quiet)
    message = str(raised.value)
    assert f"at least {MIN_LABELLED_DECISION_POINTS}" in message and f"at least {MIN_PER_CLASS} of each" in message
    assert "Traceback" not in message


def test_twenty_patients_give_no_model(small_dataset):
    dataset = first_patients(small_dataset, 20)
    models, reason = load_or_train(dataset, config=LEAN, log=_quiet)
    assert models is None and f"at least {MIN_LABELLED_DECISION_POINTS}" in reason
    assert get_models(dataset, config=LEAN, log=_quiet) is None


def test_an_as_of_inferred_from_a_stray_future_event_gives_no_model(small_dataset):
    with pytest.raises(ModelUnavailable, match="CAREPATH_AS_OF"):
        train_models(stray_future_event(small_dataset), LEAN, log=_quiet)


def test_absurd_numbers_that_bypass_validation_never_reach_the_models_as_nan(small_dataset):
    patients = small_dataset.patients.copy()
    every_50th = patients.index % 50 == 0  # enough rows for 1e300² to overflow the scaler's variance
    patients["distance_km"] = patients["distance_km"].astype(float).mask(every_50th, 1e300)
    patients["est_out_of_pocket"] = patients["est_out_of_pocket"].astype(float).mask(every_50th, np.inf)
    patients["prior_visits_12m"] = patients["prior_visits_12m"].astype("int64").mask(every_50th, 2 ** 62)
    bundle = train_models(modified(small_dataset, patients=patients), LEAN, log=_quiet)
    assert all(np.isfinite(m["roc_auc"]) for m in bundle.report["models"].values())
    assert np.isfinite(bundle.scores["risk"].to_numpy(float)).all()


def test_the_train_command_exits_with_the_reason_not_a_traceback(small_dataset, tmp_path, capsys):
    from ml.cli.train import main

    dataset = short_history(small_dataset)
    folder = tmp_path / "short"
    write_dataset({"patients": dataset.patients, "events": dataset.events},
                  {"as_of": f"{dataset.as_of:%Y-%m-%d}"}, folder)
    with pytest.raises(SystemExit) as exited:
        main(["--data", str(folder), "--models", str(tmp_path / "models")])
    assert exited.value.code not in (0, None)
    assert str(exited.value.code).startswith("error: No model") and f"{MIN_LABELLED_DECISION_POINTS}" in str(
        exited.value.code)


def test_the_temporal_hold_out_is_unavailable_not_a_crash_when_no_outcome_is_final_before_its_cut_off(
        small_dataset):
    from ml.features import model_inputs, training_rows
    from ml.risk.training import _temporal_holdout

    rows = training_rows(small_dataset.patients, small_dataset.events, small_dataset.as_of)
    rows["decision_date"] = rows["decision_date"].max()  # every decision on one day: nothing final before it
    rows["outcome_known_date"] = rows["decision_date"] + pd.Timedelta(days=1)
    holdout = _temporal_holdout("gradient_boosting", fast_training_config(), rows, model_inputs(rows),
                                rows["dropped_out"].to_numpy())
    assert holdout["train_rows"] == 0 and holdout["roc_auc"] is None
    assert "too little history for a temporal hold-out" in holdout["unavailable"]


def test_empty_scores_have_the_columns_of_real_scores(small_models):
    from ml.risk.training import SCORE_COLUMNS, _empty_scores

    assert list(small_models.scores.columns) == list(SCORE_COLUMNS)
    assert _empty_scores()["risk"].dtype == small_models.scores["risk"].dtype
