"""Optional patient attributes: absent or partly unknown attributes never break training,
never reach a model and are never described as a fact; bookings count only once made."""
from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from data.io import read_dataset, write_dataset
from data.schema import PAYERS
from ml.features import (FEATURES, NOT_IN_DATA, SINGLE_VALUED, model_inputs, scoring_rows, training_rows,
                         usable_features)
from ml.risk.report import report_markdown
from ml.risk.training import train_models
from tests.conftest import SMALL_PATIENTS, SMALL_SEED, fast_training_config

# What a typical claims-light extract leaves out.
REMOVED_ATTRIBUTES = ("race_ethnicity", "language", "payer", "portal_user", "est_out_of_pocket",
                      "prior_allowed_cost_12m", "allowed_cost_to_date")
REMOVED_FEATURES = ("language", "payer", "portal_user", "est_out_of_pocket", "prior_allowed_cost_12m")
UNKNOWN_PAYER_SHARE = 0.3
# A value printed from a missing cell: "nan coverage", "prefers <NA>", "None area".
PRINTED_MISSING = re.compile(r"\b(nan|NaN|None|NA)\b|<NA>")


def _written_and_read(tables, manifest, folder):
    """Through CSV files, as a user's export would arrive (no generator checksums)."""
    manifest = {k: v for k, v in manifest.items() if k != "files"}
    write_dataset(tables, manifest, folder, fmt="csv")
    return read_dataset(folder)


@pytest.fixture(scope="module")
def small_tables():
    from data.synthetic.dataset import generate_tables

    return generate_tables(SMALL_PATIENTS, SMALL_SEED)


@pytest.fixture(scope="module")
def reduced_dataset(small_tables, tmp_path_factory):
    tables, manifest = small_tables
    tables = {**tables, "patients": tables["patients"].drop(columns=list(REMOVED_ATTRIBUTES))}
    return _written_and_read(tables, manifest, tmp_path_factory.mktemp("reduced") / "data")


@pytest.fixture(scope="module")
def unknown_payer_dataset(small_tables, tmp_path_factory):
    tables, manifest = small_tables
    patients = tables["patients"].copy()
    patients["payer"] = patients["payer"].astype(object)
    unknown = np.random.default_rng(5).random(len(patients)) < UNKNOWN_PAYER_SHARE
    patients.loc[unknown, "payer"] = "unknown"
    return _written_and_read({**tables, "patients": patients}, manifest,
                             tmp_path_factory.mktemp("unknown-payer") / "data")


@pytest.fixture(scope="module")
def reduced_bundle(reduced_dataset):
    return train_models(reduced_dataset, fast_training_config(), log=lambda message: None)


@pytest.fixture(scope="module")
def unknown_payer_bundle(unknown_payer_dataset):
    return train_models(unknown_payer_dataset, fast_training_config(), log=lambda message: None)


# --- the feature set is decided from the data ------------------------------------------

def test_usable_features_drops_empty_absent_and_single_valued_attributes():
    patients = pd.DataFrame({"patient_id": ["a", "b", "c"], "program": ["diabetes"] * 3,
                             "sex": ["F", "M", None], "payer": [None, None, None], "region": ["rural"] * 3,
                             "age": [40, np.nan, 60]})
    selection = usable_features(patients)
    assert selection.dropped["payer"] == NOT_IN_DATA  # a column with no value
    assert selection.dropped["language"] == NOT_IN_DATA  # no column at all
    assert selection.dropped["region"] == SINGLE_VALUED
    assert selection.dropped["program"] == SINGLE_VALUED
    assert {"sex", "age", "lead_days", "waited_days"} <= set(selection.used)  # partly missing is still usable
    assert set(selection.used) | set(selection.dropped) == set(FEATURES)


def test_default_synthetic_data_keeps_every_feature(small_dataset, small_models):
    rows = training_rows(small_dataset.patients, small_dataset.events, small_dataset.as_of)
    assert usable_features(rows).used == FEATURES
    assert small_models.features == FEATURES
    assert small_models.report["features"] == {"used": list(FEATURES), "dropped": []}


# --- absent attributes ------------------------------------------------------------------

def test_both_models_train_without_the_absent_attributes(reduced_bundle):
    assert set(reduced_bundle.report["models"]) == {"logistic_regression", "gradient_boosting"}
    for name, model in reduced_bundle.report["models"].items():
        assert 0.6 < model["roc_auc"] < 1, name
        assert not set(REMOVED_FEATURES) & set(reduced_bundle.pipelines[name].feature_names_in_), name
    assert not set(REMOVED_FEATURES) & set(reduced_bundle.features)
    assert len(reduced_bundle.scores) > 0


def test_report_lists_the_dropped_features_with_the_reason(reduced_bundle):
    features = reduced_bundle.report["features"]
    dropped = {d["feature"]: d["reason"] for d in features["dropped"]}
    assert set(dropped) == set(REMOVED_FEATURES)
    assert set(dropped.values()) == {NOT_IN_DATA}
    markdown = report_markdown(reduced_bundle.report)
    left_out = markdown.split("Left out of both models:")[1].split("##")[0]
    assert all(f"- {feature}: {NOT_IN_DATA}" in left_out for feature in REMOVED_FEATURES)
    # The fairness audit says which attributes it could not audit instead of showing one empty group.
    skipped = {s["attribute"] for s in reduced_bundle.report["subgroups_skipped"]}
    assert {"race_ethnicity", "payer"} <= skipped
    for model in reduced_bundle.report["models"].values():
        assert not {r["attribute"] for r in model["subgroups"]} & {"race_ethnicity", "payer"}


def test_no_explanation_names_an_absent_feature(reduced_bundle):
    named = {d["feature"] for drivers in reduced_bundle.scores["drivers"] for d in drivers}
    assert named and not named & set(REMOVED_FEATURES)
    assert not set(REMOVED_FEATURES) & set(reduced_bundle.contributions.columns)
    for model in reduced_bundle.report["models"].values():
        assert not {r["feature"] for r in model["permutation_importance"]} & set(REMOVED_FEATURES)
    coefficients = reduced_bundle.report["models"]["logistic_regression"]["coefficients"]
    assert not {r["feature"] for r in coefficients} & set(REMOVED_FEATURES)
    texts = " ".join(reduced_bundle.scores["top_drivers"])
    assert not re.search(r"coverage|prefers|patient portal|out-of-pocket|claims in the past", texts)


def test_scoring_works_on_rows_that_carry_the_absent_columns(reduced_dataset, reduced_bundle):
    rows = scoring_rows(reduced_dataset.patients, reduced_dataset.events, reduced_dataset.as_of)
    risk = reduced_bundle.risk(rows)
    assert np.isfinite(risk).all() and ((0 < risk) & (risk < 1)).all()


# --- partly unknown attributes ---------------------------------------------------------

def test_unknown_payer_is_not_treated_as_the_most_frequent_payer(unknown_payer_dataset, unknown_payer_bundle):
    assert "payer" in unknown_payer_bundle.features
    rows = training_rows(unknown_payer_dataset.patients, unknown_payer_dataset.events, unknown_payer_dataset.as_of)
    missing = rows["payer"].isna()
    assert 0.2 < missing.mean() < 0.4
    assert set(rows.loc[~missing, "payer"]) <= set(PAYERS)  # never the string "nan" or "unknown"
    known = rows[~missing].iloc[[0]]
    most_frequent = rows["payer"].mode().iloc[0]
    as_unknown = known.assign(payer=np.nan)
    as_most_frequent = known.assign(payer=most_frequent)
    preprocess = unknown_payer_bundle.pipelines["logistic_regression"].named_steps["preprocess"]
    features = unknown_payer_bundle.features
    assert not np.allclose(preprocess.transform(model_inputs(as_unknown, features)),
                           preprocess.transform(model_inputs(as_most_frequent, features)))


def test_no_driver_states_a_payer_for_a_patient_whose_payer_is_unknown(unknown_payer_dataset, unknown_payer_bundle):
    scores = unknown_payer_bundle.scores
    payer = unknown_payer_dataset.patients.set_index("patient_id")["payer"]
    unknown = scores["patient_id"].map(payer).isna().to_numpy()
    assert unknown.any()
    for drivers in scores.loc[unknown, "drivers"]:
        for driver in drivers:
            assert not any(name in driver["text"] for name in PAYERS), driver
            if driver["feature"] == "payer":
                assert driver["text"].startswith("payer not recorded"), driver
    for text in scores["top_drivers"]:
        assert not PRINTED_MISSING.search(text), text


# --- the registry key follows the feature set -------------------------------------------

def test_registry_key_changes_when_the_feature_set_changes(small_dataset):
    """Same files (same checksums), but payer now reads as missing for everyone, e.g. because
    "unknown" is read as missing: models trained with payer must not be loaded."""
    from ml.registry import model_key

    config = fast_training_config()
    patients = small_dataset.patients.assign(payer=pd.Series(pd.NA, index=small_dataset.patients.index,
                                                             dtype=object))
    without_payer = replace(small_dataset, patients=patients)
    assert model_key(without_payer, config) != model_key(small_dataset, config)


# --- a booking is known only from the day it was made -----------------------------------

def _booking_frames(booked_on):
    """One colorectal patient: positive stool test on 1 March, colonoscopy booked for 10 April
    (the booking made on ``booked_on``; None means at the screen), never attended."""
    patients = pd.DataFrame({"patient_id": ["P1"], "enrollment_date": pd.to_datetime(["2024-02-01"]),
                             "program": ["colorectal"]})
    events = pd.DataFrame({
        "patient_id": ["P1"], "stage": ["screening"], "date": pd.to_datetime(["2024-03-01"]),
        "result": ["positive"], "site": ["Northgate"], "billed_cost": [30.0],
        "next_appointment_date": pd.to_datetime(["2024-04-10"]),
        "next_appointment_booked_on": pd.to_datetime([booked_on]),
    })
    return patients, events


def test_a_booking_made_after_a_landmark_day_is_not_known_on_it():
    patients, events = _booking_frames("2024-03-20")  # 19 days after the screen
    rows = training_rows(patients, events, "2025-06-30").set_index("waited_days")
    not_yet = rows.index < 19
    assert not_yet.any() and (~not_yet).any()
    assert rows.loc[not_yet, "lead_days"].isna().all()
    assert rows.loc[not_yet, "days_until_appointment"].isna().all()
    assert rows.loc[not_yet, "booked_date"].isna().all()
    assert (rows.loc[~not_yet, "lead_days"] == 40).all()
    assert (rows.loc[~not_yet, "booked_date"] == pd.Timestamp("2024-04-10")).all()


def test_a_booking_made_at_the_event_is_known_from_the_decision_day():
    for booked_on in (None, "2024-03-01"):
        patients, events = _booking_frames(booked_on)
        rows = training_rows(patients, events, "2025-06-30")
        assert (rows["lead_days"] == 40).all(), booked_on


def test_late_bookings_in_a_read_dataset_are_hidden_until_made(small_tables, tmp_path):
    """Through the reader (dates typed by the contract): screens whose colonoscopy was booked
    ten days later have no known booking on their decision-day and day-7 rows."""
    tables, manifest = small_tables
    events = tables["events"].copy()
    late = (events["stage"].astype(str) == "screening") & events["next_appointment_date"].notna()
    events["next_appointment_booked_on"] = pd.NaT
    events.loc[late, "next_appointment_booked_on"] = events.loc[late, "date"] + pd.Timedelta(days=10)
    dataset = _written_and_read({**tables, "events": events}, manifest, tmp_path / "data")
    rows = training_rows(dataset.patients, dataset.events, dataset.as_of)
    awaiting_diagnosis = rows["awaiting_stage"] == "diagnosis"
    early = awaiting_diagnosis & (rows["waited_days"] < 10)
    assert early.any() and rows.loc[early, "lead_days"].isna().all()
    later = awaiting_diagnosis & (rows["waited_days"] >= 10)
    assert rows.loc[later, "lead_days"].notna().mean() > 0.95
    other_stages = rows[~awaiting_diagnosis & (rows["waited_days"] == 0)]
    assert other_stages["lead_days"].notna().mean() > 0.95  # bookings made at the event stay known


def test_drivers_word_missing_values_as_not_recorded():
    from ml.risk.drivers import describe

    row = pd.Series({"program": "colorectal", "awaiting_stage": "diagnosis", "waited_days": 12.0,
                     "lead_days": np.nan, "days_until_appointment": np.nan, "days_past_booking": np.nan,
                     "payer": np.nan, "adi": np.nan, "portal_user": np.nan})
    assert describe("lead_days", row) == "no colonoscopy date booked"
    assert describe("days_past_booking", row) == "waited 12 days; no colonoscopy date booked"
    assert describe("payer", row) == "payer not recorded"
    assert describe("adi", row) == "area deprivation index not recorded"
    assert describe("portal_user", row) == "patient-portal use not recorded"  # not "does not use the portal"
