"""Accuracy and calibration goals on the default 50k data (seed 7), a leakage guard on the small
data, and checks that the explanation explains the risk the app shows."""
from __future__ import annotations

import numpy as np

from ml.features import FEATURES, scoring_rows


def test_default_data_keeps_every_feature_in_both_models(default_bundle):
    """The feature set is decided from the data; the default data records every attribute, so
    nothing may be dropped (a dropped feature here would silently lower the AUCs below)."""
    bundle = default_bundle[1]
    assert bundle.features == FEATURES
    assert bundle.report["features"]["dropped"] == [] and bundle.report["subgroups_skipped"] == []
    for pipeline in bundle.pipelines.values():
        assert set(pipeline.feature_names_in_) == set(FEATURES)


def test_decision_day_auc_is_close_to_the_oracle_and_never_above_it(default_bundle):
    """Headline on the decision day: measured GB 0.743 (CI 0.734–0.754) against the oracle's 0.759.
    A leaking feature puts the model above the oracle; a broken model more than 0.03 below it."""
    report = default_bundle[1].report
    day = report["models"]["gradient_boosting"]["decision_day"]
    oracle = report["oracle"]["decision_day_roc_auc"]
    assert 0.0 < oracle - day["roc_auc"] <= 0.03, (oracle, day)
    assert day["roc_auc_ci"][0] < day["roc_auc"] < day["roc_auc_ci"][1]
    assert day["rows"] == report["n_decision_points"]  # one decision-day row per decision point
    # the landmark AUCs rise with the wait for the oracle too: why the pooled figure is not the headline
    landmarks = {r["waited_days"]: r for r in report["models"]["gradient_boosting"]["by_landmark"]}
    assert landmarks[45]["oracle_roc_auc"] > landmarks[0]["oracle_roc_auc"] + 0.05


def test_logistic_regression_is_measurably_below_gradient_boosting(default_bundle):
    """Pooled 0.799 vs 0.789, decision day 0.743 vs 0.736. GB's point estimate used to lie above LR's
    interval too; with the drop-in weights the effective sample fell (56k -> 38k rows) and it now sits
    at LR's upper bound (0.7994 vs 0.8000), so only the gaps are held."""
    models = default_bundle[1].report["models"]
    gb, lr = models["gradient_boosting"], models["logistic_regression"]
    assert gb["roc_auc"] - lr["roc_auc"] >= 0.008
    assert gb["decision_day"]["roc_auc"] - lr["decision_day"]["roc_auc"] >= 0.004


def test_shown_risk_is_calibrated_against_the_true_probability(default_bundle):
    """Noise-free calibration: predicted vs the generator's probability, the risk if no one calls.
    The issue's goal: <= 0.02 overall and <= 0.04 in every subgroup of >= 500 rows. Measured with the
    drop-in handling (ml.drop_in): 0.004 overall, worst age 18-34 0.038; learned naively from the
    pilot's outcomes it was 0.017 and age 75+ 0.042 (bias -0.015: the pilot's rescues in the labels)."""
    bundle = default_bundle[1]
    shown = bundle.report["models"][bundle.primary]
    assert bundle.primary == "gradient_boosting"
    truth = shown["oracle_calibration_error"]
    assert truth["binned"] <= 0.02 and abs(truth["bias"]) <= 0.01
    assert all(r["binned"] <= 0.04 for r in truth["by_subgroup"]), truth["worst_subgroup"]
    assert {r["attribute"] for r in truth["by_subgroup"]} == {"sex", "race_ethnicity", "payer", "age_band",
                                                               "program", "site"}
    # Against the outcomes the risk is for (uncalled rows, IPC-weighted): calibrated.
    untreated = shown["calibration_untreated"]
    assert untreated["ici"] <= 0.02 and abs(untreated["calibration_in_the_large"]) < 0.01
    assert 0.9 <= untreated["calibration_slope"] <= 1.1
    # Against every realised outcome the no-call risk runs above: the pilot's calls rescued some.
    assert shown["calibration"]["calibration_in_the_large"] < -0.005


def test_calls_in_the_history_are_censored_and_weighted(default_bundle):
    """Bug guarded: the drop-in handling silently off (no outreach read, or every weight 1)."""
    dataset, bundle = default_bundle
    drop_in = bundle.report["drop_in"]
    assert drop_in["handled"] and drop_in["censored_decision_points"] > 1000
    assert 1.5 < drop_in["weight_p99"] < drop_in["weight_max"] <= 50
    assert drop_in["effective_rows"] < bundle.report["n_rows"] - drop_in["censored_rows"]


def test_temporal_holdout_and_subgroups_are_reported(default_bundle):
    gb = default_bundle[1].report["models"]["gradient_boosting"]
    assert gb["temporal_holdout"]["test_rows"] > 1000 and gb["temporal_holdout"]["roc_auc"] > 0.75
    attributes = {r["attribute"] for r in gb["subgroups"]}
    assert attributes == {"sex", "race_ethnicity", "payer", "age_band", "program", "site"}


def assert_no_model_beats_the_oracle(report: dict) -> None:
    """A model cannot rank better than the true probability; one that does has seen the outcome."""
    oracle = report["oracle"]["decision_day_roc_auc"]
    for name, metrics in report["models"].items():
        low = metrics["decision_day"]["roc_auc_ci"][0]
        assert low <= oracle, (name, metrics["decision_day"], oracle)
        assert metrics["roc_auc_ci"][0] <= report["oracle_roc_auc"], name


def test_no_model_beats_the_oracle_on_the_small_data(small_models):
    """Bug guarded: a leaking feature (a column dated after the decision, or the label itself)."""
    assert_no_model_beats_the_oracle(small_models.report)


def test_the_explained_risk_is_the_shown_calibrated_risk(small_dataset, small_models):
    """Bug guarded: explaining another function (the logistic decision_function, or the boosting
    model before calibration) than the risk the Worklist and Patient pages show."""
    bundle = small_models
    rows = scoring_rows(small_dataset.patients, small_dataset.events, small_dataset.as_of)
    shown = bundle.risk(rows)
    by_patient = dict(zip(rows["patient_id"], shown))
    np.testing.assert_allclose(bundle.scores["risk"], bundle.scores["patient_id"].map(by_patient), atol=1e-12)
    total = bundle.contributions[list(bundle.features)].sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, bundle.scores["risk"] - bundle.scores["reference_risk"], atol=1e-9)
    assert all(len(d) == 3 for d in bundle.scores["drivers"].head(50))


def test_gradient_boosting_contributions_match_single_feature_effects_where_additive(default_bundle):
    """Changing one feature at a time from the reference: the only contribution is that feature's effect."""
    from ml.risk.explain import shapley_contributions

    dataset, bundle = default_bundle
    X = bundle.reference.copy()
    X["prior_no_shows_12m"] = 4.0
    contributions = shapley_contributions(lambda f: bundle.calibrators["gradient_boosting"].transform(
        bundle.pipelines["gradient_boosting"].predict_proba(f)[:, 1]), X, bundle.reference, n_permutations=4)
    others = contributions.drop(columns=["prior_no_shows_12m"]).abs().to_numpy().max()
    assert others == 0
    assert contributions["prior_no_shows_12m"].iloc[0] > 0  # monotone: more no-shows, more risk
