"""Model rows and features at decision points, using only what was known at that moment.

A *decision point* is an event that booked the next stage (positive screen, confirmed
diagnosis, treatment).  Each one yields *landmark* rows: the decision day itself and
later days while the patient is still waiting, because coordinators score patients
who have already waited a while, some of them past their booked date.  The model
therefore sees `waited_days` and `days_until_appointment` exactly as it will at
scoring time.

Outcome columns (next stage date, pathway outcome, labels), `allowed_cost_to_date`
(billed after the decision) and the generator's ground truth never become features.
Race/ethnicity is deliberately not a model input; it is used only to audit fairness.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data.journeys import derive_decision_points
from data.schema import PATIENT_COLUMNS

LANDMARK_DAYS = (0, 7, 14, 30, 45, 60, 90, 120, 150)

CATEGORICAL_FEATURES = ("program", "awaiting_stage", "sex", "language", "payer", "region", "site",
                        "decision_season")
NUMERIC_FEATURES = (
    "age", "adi", "distance_km", "comorbidity_index", "prior_no_shows_12m", "prior_visits_12m",
    "portal_user", "est_out_of_pocket", "prior_allowed_cost_12m",
    "lead_days", "waited_days", "days_until_appointment", "days_past_booking", "previous_stage_days",
    "missed_previous_appointment", "prior_decisions_missed", "days_since_enrollment",
)
FEATURES = CATEGORICAL_FEATURES + NUMERIC_FEATURES
# Derived from the appointment booked at the decision (next_appointment_date): without
# bookings they are all missing or constant, and the models leave them out.
BOOKING_FEATURES = ("lead_days", "days_until_appointment", "days_past_booking", "missed_previous_appointment",
                    "prior_decisions_missed")

# Carried alongside the features for grouping, evaluation, display; never model inputs.
ID_COLUMNS = ("patient_id", "decision_date", "landmark_date", "window_closes", "booked_date")
AUDIT_COLUMNS = ("race_ethnicity", "age_band")
LABEL = "dropped_out"

PATIENT_FEATURES = ("sex", "language", "payer", "region", "site", "race_ethnicity", "age", "adi", "distance_km",
                    "comorbidity_index", "prior_no_shows_12m", "prior_visits_12m", "portal_user",
                    "est_out_of_pocket", "prior_allowed_cost_12m")
LEAKY_COLUMNS = ("allowed_cost_to_date", "next_stage_date", "pathway_outcome", "label_known", "dropped_out",
                 "true_dropout_probability", "will_drop_out")

AGE_BANDS = (18, 35, 50, 65, 75, 200)
AGE_BAND_LABELS = ("18-34", "35-49", "50-64", "65-74", "75+")


def _season(dates: pd.Series) -> pd.Series:
    quarter = dates.dt.quarter
    return quarter.map({1: "Q1 winter", 2: "Q2 spring", 3: "Q3 summer", 4: "Q4 autumn"}).astype(str)


def age_band(age: pd.Series) -> pd.Series:
    return pd.cut(age, bins=AGE_BANDS, right=False, labels=AGE_BAND_LABELS).astype(str)


def _within_contract_bounds(attributes: pd.DataFrame) -> pd.DataFrame:
    """Numbers clipped to the contract's bounds, infinities made missing.

    Validation rejects values outside the bounds, but a dataset built in memory (or read
    without validation) can still hold e.g. 1e300 km, whose square overflows the scaler
    into NaN; the models must never see such a value.
    """
    for column in PATIENT_COLUMNS:
        if column.name in attributes.columns and column.kind in ("int", "float"):
            values = pd.to_numeric(attributes[column.name], errors="coerce").astype(float)
            attributes[column.name] = values.replace([np.inf, -np.inf], np.nan).clip(column.min_value,
                                                                                     column.max_value)
    return attributes


def _attach_patient_columns(rows: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    attributes = _within_contract_bounds(patients[["patient_id", *PATIENT_FEATURES]].copy())
    for column in ("sex", "language", "payer", "region", "site", "race_ethnicity"):
        attributes[column] = attributes[column].astype(str)
    attributes["portal_user"] = attributes["portal_user"].astype(float)
    return rows.merge(attributes, on="patient_id", how="left", validate="many_to_one")


def _feature_frame(points: pd.DataFrame, waited: np.ndarray, patients: pd.DataFrame) -> pd.DataFrame:
    rows = points.assign(
        waited_days=waited.astype(float),
        landmark_date=points["decision_date"] + pd.to_timedelta(waited, unit="D"),
    )
    rows["days_until_appointment"] = rows["lead_days"] - rows["waited_days"]
    rows["days_past_booking"] = (-rows["days_until_appointment"]).clip(lower=0)
    rows["decision_season"] = _season(rows["decision_date"])
    rows["missed_previous_appointment"] = rows["missed_previous_appointment"].astype(float)
    rows["program"] = rows["program"].astype(str)
    rows["awaiting_stage"] = rows["awaiting_stage"].astype(str)
    rows = _attach_patient_columns(rows, patients)
    rows["age_band"] = age_band(rows["age"])
    return rows


def training_rows(patients: pd.DataFrame, events: pd.DataFrame, as_of) -> pd.DataFrame:
    """Landmark rows of decision points whose outcome is final, with the label.

    A landmark t is kept only while the patient is still waiting at t (the next stage
    has not happened by then) and the stage's window is open.
    """
    points = derive_decision_points(patients, events, as_of)
    points = points[points["label_known"]].reset_index(drop=True)
    window = (points["window_closes"] - points["decision_date"]).dt.days.to_numpy()
    gap = (points["next_stage_date"] - points["decision_date"]).dt.days.to_numpy()  # NaN if never
    frames = []
    for t in LANDMARK_DAYS:
        waiting = (t < window) & ~(gap <= t)
        if waiting.any():
            sub = points[waiting]
            frames.append(_feature_frame(sub, np.full(len(sub), t), patients))
    if not frames:  # no outcome is final yet: an empty frame, which the readiness rules turn into "no model"
        frames.append(_feature_frame(points.iloc[:0], np.zeros(0), patients))
    rows = pd.concat(frames, ignore_index=True)
    rows[LABEL] = rows[LABEL].astype(int)
    return rows.sort_values(["patient_id", "decision_date", "waited_days"], kind="stable").reset_index(drop=True)


def scoring_rows(patients: pd.DataFrame, events: pd.DataFrame, as_of) -> pd.DataFrame:
    """One row per in-progress patient awaiting a booked stage, at the as-of date."""
    as_of = pd.Timestamp(as_of).normalize()
    points = derive_decision_points(patients, events, as_of)
    open_points = points[(points["pathway_outcome"] == "in_progress") & points["next_stage_date"].isna()
                         & (points["window_closes"] >= as_of)].reset_index(drop=True)
    waited = (as_of - open_points["decision_date"]).dt.days.to_numpy()
    return _feature_frame(open_points, waited, patients)


def model_inputs(rows: pd.DataFrame) -> pd.DataFrame:
    """Exactly the feature columns, in order: the only thing a model ever sees."""
    return rows.loc[:, list(FEATURES)]


def decision_day_rows(patients: pd.DataFrame, events: pd.DataFrame, as_of) -> pd.DataFrame:
    """Every observed decision point as a row on its decision day (waited 0), labelled or not."""
    points = derive_decision_points(patients, events, as_of)
    return _feature_frame(points, np.zeros(len(points)), patients)
