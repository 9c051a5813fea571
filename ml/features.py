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

Only identity, program and enrollment date are required of a patient, so the feature set
is decided from the data (``usable_features``): an attribute nobody has, or everybody has
the same value of, is dropped from both models. A missing value stays missing (NaN) in
the rows; the model pipelines give it its own indicator or category, never a guess.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from dataclasses import dataclass

from data.journeys import derive_decision_points
from data.pathway import DEFAULT_PATHWAY, Pathway
from data.schema import PATIENT_COLUMNS
from ml.sampling import PatientSample, sample_patients

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

# Model features read from the patients table: optional in the contract, so each may be
# absent, empty or "unknown" (read as missing) for some or all patients.
PATIENT_ATTRIBUTE_FEATURES = tuple(f for f in FEATURES if f in PATIENT_FEATURES)
CATEGORICAL_PATIENT_COLUMNS = ("sex", "language", "payer", "region", "site", "race_ethnicity")

AGE_BANDS = (18, 35, 50, 65, 75, 200)
AGE_BAND_LABELS = ("18-34", "35-49", "50-64", "65-74", "75+")


def _season(dates: pd.Series) -> pd.Series:
    quarter = dates.dt.quarter
    return quarter.map({1: "Q1 winter", 2: "Q2 spring", 3: "Q3 summer", 4: "Q4 autumn"}).astype(str)


def age_band(age: pd.Series) -> pd.Series:
    return pd.cut(age, bins=AGE_BANDS, right=False, labels=AGE_BAND_LABELS).astype(str)


@dataclass(frozen=True)
class FeatureSelection:
    """The model features this data supports, and why the others were left out."""

    used: tuple[str, ...]
    dropped: dict  # feature -> reason, in FEATURES order

    def as_report(self) -> dict:
        return {"used": list(self.used),
                "dropped": [{"feature": f, "reason": reason} for f, reason in self.dropped.items()]}

    def without(self, features, reason: str) -> "FeatureSelection":
        """This selection with ``features`` left out too, for ``reason``, which also replaces
        a generic reason already given for them (it says more: e.g. too few bookings)."""
        reasons = {**self.dropped, **{f: reason for f in features if f in self.used or f in self.dropped}}
        dropped = {f: reasons[f] for f in FEATURES if f in reasons}
        return FeatureSelection(tuple(f for f in self.used if f not in dropped), dropped)


NOT_IN_DATA = "no value recorded in the data (column absent or empty)"
SINGLE_VALUED = "the same value for every patient, so it cannot tell patients apart"


def usable_features(frame: pd.DataFrame) -> FeatureSelection:
    """Drop every feature that is all-missing or single-valued in ``frame``.

    ``frame`` is the patients table (cheap; what the registry key uses) or the training
    rows (what training uses). A patient attribute that is not a column at all is absent;
    other features that are not columns of ``frame`` (e.g. waits, in the patients table)
    cannot be judged there and are kept.
    """
    dropped = {}
    for feature in FEATURES:
        if feature not in frame.columns:
            if feature in PATIENT_ATTRIBUTE_FEATURES:
                dropped[feature] = NOT_IN_DATA
            continue
        recorded = frame[feature].dropna()
        if recorded.empty:
            dropped[feature] = NOT_IN_DATA
        elif recorded.nunique() < 2:
            dropped[feature] = SINGLE_VALUED
    return FeatureSelection(tuple(f for f in FEATURES if f not in dropped), dropped)


def _category_text(values: pd.Series) -> pd.Series:
    """Categories as text with missing values left missing (NaN), never the string "nan"."""
    present = values.notna().to_numpy()
    text = values.astype(object).to_numpy(copy=True)
    text[present] = [str(v) for v in text[present]]
    text[~present] = np.nan
    return pd.Series(text, index=values.index, dtype=object)


def _within_contract_bounds(attributes: pd.DataFrame) -> pd.DataFrame:
    """Numbers clipped to the contract's bounds, infinities made missing.

    Validation rejects values outside the bounds, but a dataset built in memory (or read
    without validation) can still hold e.g. 1e300 km, whose square overflows the scaler
    into NaN; the models must never see such a value.
    """
    for column in PATIENT_COLUMNS:
        if column.name in attributes.columns and column.kind in ("int", "float"):
            values = pd.to_numeric(attributes[column.name].astype(object), errors="coerce").astype(float)
            attributes[column.name] = values.replace([np.inf, -np.inf], np.nan).clip(column.min_value,
                                                                                     column.max_value)
    return attributes


def _attach_patient_columns(rows: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    # An optional attribute may be missing from an in-memory table altogether; read_dataset
    # fills it, and so does this, with missing values (never a default). Only the rows' own
    # patients are cleaned: at 10M patients turning every patient's categories into text for the
    # 114,011 scoring rows took ~6 GB (and the same rows come out).
    patients = patients[patients["patient_id"].isin(pd.unique(rows["patient_id"]))]
    attributes = _within_contract_bounds(patients.reindex(columns=["patient_id", *PATIENT_FEATURES]))
    for column in CATEGORICAL_PATIENT_COLUMNS:
        attributes[column] = _category_text(attributes[column])
    for column in PATIENT_FEATURES:
        if column not in CATEGORICAL_PATIENT_COLUMNS:
            attributes[column] = pd.to_numeric(attributes[column].astype(object), errors="coerce").astype(float)
    return rows.merge(attributes, on="patient_id", how="left", validate="many_to_one")


def booking_made_on(points: pd.DataFrame, events: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> pd.Series:
    """Day each decision point's booking was made (next_appointment_booked_on of the
    decision event; empty or absent means on the decision day), aligned with ``points``."""
    decision_day = pd.Series(pd.to_datetime(points["decision_date"]).astype("datetime64[ns]").to_numpy(),
                             index=points.index)
    if "next_appointment_booked_on" not in events.columns or events["next_appointment_booked_on"].isna().all():
        return decision_day
    # The decision event is the patient's earliest event of its stage, as in data.journeys.
    decision_events = pd.DataFrame({
        "patient_id": events["patient_id"].astype(str).to_numpy(),
        "stage": events["stage"].astype(str).to_numpy(),
        "date": pd.to_datetime(events["date"]).astype("datetime64[ns]").to_numpy(),
        "booked_on": pd.to_datetime(events["next_appointment_booked_on"]).astype("datetime64[ns]").to_numpy(),
    }).sort_values("date", kind="stable").drop_duplicates(["patient_id", "stage"])
    keys = pd.DataFrame({"patient_id": points["patient_id"].astype(str).to_numpy(),
                         "stage": points["awaiting_stage"].astype(str).map(pathway.previous_stage).to_numpy(),
                         "date": decision_day.to_numpy()})
    found = keys.merge(decision_events, on=["patient_id", "stage", "date"], how="left")["booked_on"]
    return pd.Series(found.to_numpy(), index=points.index).fillna(decision_day)


def _hide_bookings_not_yet_made(rows: pd.DataFrame, booked_on: pd.Series) -> pd.DataFrame:
    """On a landmark day before the booking was made, nobody knew the booked date yet."""
    unknown = booked_on.to_numpy() > rows["landmark_date"].to_numpy()
    if unknown.any():
        rows.loc[unknown, "lead_days"] = np.nan
        rows.loc[unknown, "booked_date"] = pd.NaT
    return rows


def _feature_frame(points: pd.DataFrame, waited: np.ndarray, patients: pd.DataFrame,
                   booked_on: pd.Series | None = None) -> pd.DataFrame:
    rows = points.assign(
        waited_days=waited.astype(float),
        landmark_date=points["decision_date"] + pd.to_timedelta(waited, unit="D"),
    )
    if booked_on is not None:
        rows = _hide_bookings_not_yet_made(rows, booked_on)
    rows["days_until_appointment"] = rows["lead_days"] - rows["waited_days"]
    rows["days_past_booking"] = (-rows["days_until_appointment"]).clip(lower=0)
    rows["decision_season"] = _season(rows["decision_date"])
    rows["missed_previous_appointment"] = rows["missed_previous_appointment"].astype(float)
    rows["program"] = rows["program"].astype(str)
    rows["awaiting_stage"] = rows["awaiting_stage"].astype(str)
    rows = _attach_patient_columns(rows, patients)
    rows["age_band"] = age_band(rows["age"]).where(rows["age"].notna(), np.nan)
    return rows


def _decision_points(points, patients, events, as_of, pathway) -> pd.DataFrame:
    """The given decision points (derived once by ml.workspace), else derived from the tables."""
    return derive_decision_points(patients, events, as_of, pathway) if points is None else points


def landmark_rows(points: pd.DataFrame, waited: np.ndarray, patients: pd.DataFrame,
                  booked_on: pd.Series | None = None) -> pd.DataFrame:
    """Feature rows of ``points`` on the landmark day ``waited`` days after each decision
    (what was known that day); used by the targeting rows of ml.targeting."""
    return _feature_frame(points, waited, patients, booked_on)


def stacked_landmark_rows(points: pd.DataFrame, at: np.ndarray, waited: np.ndarray, patients: pd.DataFrame,
                          booked_on: pd.Series | None = None) -> pd.DataFrame:
    """Feature rows of the points at positions ``at`` (a point may come many times), each on its
    landmark day ``waited`` days after its decision, in the order of ``at``.

    One frame for every landmark at once: the patient attributes are cleaned and merged once,
    where a frame per landmark day would redo it over the whole patients table each time
    (132 weekly sweeps at 1M patients cost minutes)."""
    at = np.asarray(at, dtype=np.intp)
    return _feature_frame(points.iloc[at].reset_index(drop=True), np.asarray(waited), patients,
                          None if booked_on is None else booked_on.iloc[at].reset_index(drop=True))


def labelled_landmarks(points: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(labelled points, at, waited): which labelled point is still waiting on which landmark day.

    A landmark t is kept only while the patient is still waiting at t (the next stage has not
    happened by then) and the stage's window is open."""
    points = points[points["label_known"]].reset_index(drop=True)
    window = (points["window_closes"] - points["decision_date"]).dt.days.to_numpy()
    gap = (points["next_stage_date"] - points["decision_date"]).dt.days.to_numpy()  # NaN if never
    at, waited = [], []
    for t in LANDMARK_DAYS:
        waiting = np.flatnonzero((t < window) & ~(gap <= t))
        at.append(waiting)
        waited.append(np.full(len(waiting), t))
    return points, np.concatenate(at), np.concatenate(waited)


def _patient_codes(points: pd.DataFrame, at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(code of each point's patient, of each labelled landmark row's patient in the training
    rows' order, the patient id of each code): patients coded in sorted id order, as the rows
    are ordered by patient."""
    codes, ids = pd.factorize(points["patient_id"].astype(str), sort=True)
    return codes, np.sort(codes[at], kind="stable"), np.asarray(ids, dtype=object)


def training_sample(points: pd.DataFrame, max_rows: int | None, seed: int) -> PatientSample:
    """The sample of whole patients ``training_rows(max_rows=, seed=)`` builds (ml.sampling):
    the same as drawing it from every labelled row (ordered by patient), found from which point
    waits on which landmark day, without building a row. ``keep`` is per labelled landmark row."""
    points, at, _ = labelled_landmarks(points)
    return sample_patients(_patient_codes(points, at)[1], max_rows, seed)


def sampled_out_patients(points: pd.DataFrame, sample: PatientSample) -> np.ndarray:
    """The patients with labelled landmark rows that ``sample`` (``training_sample``'s) left out."""
    points, at, _ = labelled_landmarks(points)
    _, row_codes, ids = _patient_codes(points, at)
    return ids[pd.unique(row_codes[~sample.keep])]


def training_rows(patients: pd.DataFrame, events: pd.DataFrame, as_of,
                  pathway: Pathway = DEFAULT_PATHWAY, points: pd.DataFrame | None = None,
                  max_rows: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Landmark rows of decision points whose outcome is final, with the label, ordered by
    patient, decision date and landmark.

    ``points``: the decision points of these tables when already derived (ml.workspace), else
    derived here. ``max_rows``: only the rows of ``training_sample``'s patients, the others never
    built (at 10M patients every row is 11.3M rows; the sample 300,000).
    """
    points = _decision_points(points, patients, events, as_of, pathway)
    points, at, waited = labelled_landmarks(points)
    if max_rows is not None and len(at) > max_rows:
        codes, row_codes, ids = _patient_codes(points, at)
        kept = np.zeros(len(ids), bool)
        kept[row_codes[sample_patients(row_codes, max_rows, seed).keep]] = True
        chosen = kept[codes[at]]
        at, waited = at[chosen], waited[chosen]
    booked_on = booking_made_on(points, events, pathway)
    # Which point is waiting on which landmark day, gathered first: the feature frame (and its
    # merge with the whole patients table) is then built once, not once per landmark day.
    rows = stacked_landmark_rows(points, at, waited, patients, booked_on)
    rows[LABEL] = rows[LABEL].astype(int)
    return rows.sort_values(["patient_id", "decision_date", "waited_days"], kind="stable").reset_index(drop=True)


def scoring_rows(patients: pd.DataFrame, events: pd.DataFrame, as_of,
                 pathway: Pathway = DEFAULT_PATHWAY, points: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per in-progress patient awaiting a booked stage, at the as-of date."""
    as_of = pd.Timestamp(as_of).normalize()
    points = _decision_points(points, patients, events, as_of, pathway)
    open_points = points[(points["pathway_outcome"] == "in_progress") & points["next_stage_date"].isna()
                         & (points["window_closes"] >= as_of)].reset_index(drop=True)
    waited = (as_of - open_points["decision_date"]).dt.days.to_numpy()
    return _feature_frame(open_points, waited, patients, booking_made_on(open_points, events, pathway))


def model_inputs(rows: pd.DataFrame, features=FEATURES) -> pd.DataFrame:
    """Exactly the feature columns, in order: the only thing a model ever sees."""
    return rows.loc[:, list(features)]


def decision_day_rows(patients: pd.DataFrame, events: pd.DataFrame, as_of,
                      pathway: Pathway = DEFAULT_PATHWAY, points: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every observed decision point as a row on its decision day (waited 0), labelled or not."""
    points = _decision_points(points, patients, events, as_of, pathway)
    return _feature_frame(points, np.zeros(len(points)), patients)
