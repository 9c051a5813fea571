"""Contract validation: each rule is caught and named (file, column, rule, examples)."""
from __future__ import annotations

import pandas as pd
import pytest

from data.schema import EVENT_COLUMNS, PATIENT_COLUMNS
from data.validation import ContractError, coerce_table, validate_tables

AS_OF = pd.Timestamp("2023-12-31")


def make_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six patients over the three programs: complete, ended appropriately, in progress, no events."""
    base = dict(age=50, sex="F", race_ethnicity="White", language="English", payer="Commercial",
                region="urban", site="S01", adi=40, distance_km=5.5, comorbidity_index=2,
                prior_no_shows_12m=1, prior_visits_12m=4, portal_user=True, est_out_of_pocket=120.25,
                prior_allowed_cost_12m=1500.0, allowed_cost_to_date=2500.75)
    patients = pd.DataFrame([
        {**base, "patient_id": "P001", "enrollment_date": "2023-01-02", "program": "colorectal"},
        {**base, "patient_id": "P002", "enrollment_date": "2023-01-05", "program": "colorectal",
         "sex": "M", "portal_user": False, "payer": "Medicare", "age": 71},
        {**base, "patient_id": "P003", "enrollment_date": "2023-02-01", "program": "diabetes",
         "race_ethnicity": "Black", "region": "rural", "distance_km": 42.0},
        {**base, "patient_id": "P004", "enrollment_date": "2023-03-01", "program": "diabetes",
         "language": "Spanish", "payer": "Medicaid", "site": "S02"},
        {**base, "patient_id": "P005", "enrollment_date": "2023-10-01", "program": "depression",
         "payer": "Uninsured", "adi": 95},
        {**base, "patient_id": "P006", "enrollment_date": "2023-12-01", "program": "depression",
         "region": "suburban", "age": 18},
    ])
    rows = [
        ("P001", "screening", "2023-01-10", "positive", 30.0, "2023-02-01"),
        ("P001", "diagnosis", "2023-02-01", "confirmed", 900.5, "2023-03-01"),
        ("P001", "treatment", "2023-03-01", None, 12000.0, "2023-06-01"),
        ("P001", "follow_up", "2023-06-01", None, 150.0, None),
        ("P002", "screening", "2023-01-15", "negative", 30.0, None),
        ("P003", "screening", "2023-02-10", "positive", 25.0, "2023-03-01"),
        ("P003", "diagnosis", "2023-03-01", "ruled_out", 300.0, None),
        ("P004", "screening", "2023-03-05", "positive", 25.0, "2023-04-01"),
        ("P004", "diagnosis", "2023-04-03", "confirmed", 310.0, "2023-05-01"),
        ("P004", "treatment", "2023-12-20", None, 800.0, "2024-02-15"),
        ("P005", "screening", "2023-12-15", "positive", 0.0, "2024-01-10"),
    ]
    events = pd.DataFrame(rows, columns=["patient_id", "stage", "date", "result", "billed_cost",
                                         "next_appointment_date"])
    events.insert(4, "site", "S01")
    for df, cols in ((patients, ("enrollment_date",)), (events, ("date", "next_appointment_date"))):
        for col in cols:
            df[col] = pd.to_datetime(df[col])
    return patients, events


def typed(patients: pd.DataFrame, events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    p, problems = coerce_table(patients, PATIENT_COLUMNS, "patients")
    e, more = coerce_table(events, EVENT_COLUMNS, "events")
    assert problems == [] and more == []
    # read_dataset gives every contract column, an optional one left out as all-missing
    from data.io import _with_all_columns
    return _with_all_columns(p, PATIENT_COLUMNS), _with_all_columns(e, EVENT_COLUMNS)


def problems_of(patients, events, as_of=AS_OF):
    with pytest.raises(ContractError) as info:
        validate_tables(patients, events, as_of, source="ds")
    return info.value


def assert_problem(error: ContractError, file: str, column: str | None, rule: str) -> None:
    matches = [p for p in error.problems if p.file.endswith(file) and p.column == column and p.rule == rule]
    assert matches, f"no {file}/{column}/{rule} problem in:\n{error}"
    text = str(error)
    assert rule in text and file in text and (column is None or column in text)


def test_valid_tables_pass():
    patients, events = make_tables()
    validate_tables(patients, events, AS_OF)


def test_coerce_parses_strings_and_drops_extra_columns():
    patients, events = make_tables()
    raw = events.astype(str).replace({"NaT": "", "None": "", "nan": ""})
    raw["extra"] = "x"
    out, problems = coerce_table(raw, EVENT_COLUMNS, "events")
    assert problems == []
    assert list(out.columns) == [c.name for c in EVENT_COLUMNS if c.name in raw.columns]
    assert out["date"].dtype == "datetime64[ns]"
    assert out["billed_cost"].dtype == "float64"
    pd.testing.assert_frame_equal(out, typed(patients, events)[1][out.columns])


def test_missing_column():
    patients, events = make_tables()
    error = problems_of(patients.drop(columns="enrollment_date"), events)
    assert_problem(error, "patients", "enrollment_date", "missing_column")


def test_optional_attributes_may_be_absent_empty_or_unknown():
    patients, events = make_tables()
    patients = patients.drop(columns=["race_ethnicity", "language", "est_out_of_pocket"])
    patients["payer"] = patients["payer"].astype(object)
    patients.loc[0, "payer"], patients.loc[1, "payer"], patients.loc[2, "site"] = "Unknown", None, " unknown "
    validate_tables(patients, events.drop(columns=["billed_cost", "site"]), AS_OF)
    typed_patients, problems = coerce_table(patients, PATIENT_COLUMNS, "patients")
    assert problems == []
    assert typed_patients["payer"].iloc[:2].isna().all() and pd.isna(typed_patients["site"].iloc[2])


def test_implausible_numbers_are_rejected():
    patients, events = make_tables()
    patients.loc[0, "prior_visits_12m"] = 2 ** 62
    patients["distance_km"] = patients["distance_km"].astype(float)
    patients.loc[1, "distance_km"] = 1e300
    error = problems_of(patients, events)
    assert_problem(error, "patients", "prior_visits_12m", "range")
    assert_problem(error, "patients", "distance_km", "range")


def test_bad_date_names_the_row():
    patients, events = make_tables()
    events = events.astype({"date": object})
    events.loc[3, "date"] = "2023-13-45"
    error = problems_of(patients, events)
    assert_problem(error, "events", "date", "type")
    example = next(p for p in error.problems if p.rule == "type").examples[0]
    assert example == "row 3: patient_id=P001, date='2023-13-45'"


def test_bad_number_and_bool():
    patients, events = make_tables()
    patients = patients.astype({"age": object, "portal_user": object})
    patients.loc[0, "age"] = "fifty"
    patients.loc[1, "portal_user"] = "maybe"
    error = problems_of(patients, events)
    assert_problem(error, "patients", "age", "type")
    assert_problem(error, "patients", "portal_user", "type")


def test_unknown_stage_and_out_of_range_values():
    patients, events = make_tables()
    events.loc[4, "stage"] = "surgery"
    patients.loc[2, "age"] = 130
    error = problems_of(patients, events)
    assert_problem(error, "events", "stage", "allowed_values")
    assert_problem(error, "patients", "age", "range")


def test_null_in_required_column():
    patients, events = make_tables()
    patients.loc[1, "program"] = None
    assert_problem(problems_of(patients, events), "patients", "program", "not_null")


def test_duplicate_patient_id():
    patients, events = make_tables()
    patients.loc[5, "patient_id"] = "P004"
    assert_problem(problems_of(patients, events), "patients", "patient_id", "duplicate_id")


def test_orphan_event():
    patients, events = make_tables()
    events.loc[4, "patient_id"] = "P999"
    assert_problem(problems_of(patients, events), "events", "patient_id", "unknown_patient")


def test_empty_tables():
    patients, events = make_tables()
    error = problems_of(patients.iloc[:0], events.iloc[:0])
    assert_problem(error, "patients", None, "empty_table")
    assert_problem(error, "events", None, "empty_table")


def test_dates_after_as_of_but_next_appointment_may_be():
    patients, events = make_tables()
    events.loc[4, "date"] = pd.Timestamp("2024-03-01")
    patients.loc[5, "enrollment_date"] = pd.Timestamp("2024-01-01")
    error = problems_of(patients, events)
    assert_problem(error, "events", "date", "after_as_of")
    assert_problem(error, "patients", "enrollment_date", "after_as_of")
    assert not any(p.column == "next_appointment_date" for p in error.problems)


def test_treatment_without_confirmed_diagnosis():
    patients, events = make_tables()
    events.loc[8, "result"] = "ruled_out"  # P004 then has a treatment after a ruled-out diagnosis
    error = problems_of(patients, events)
    assert_problem(error, "events", "stage", "missing_prerequisite")
    assert "treatment" in str(error)


def test_diagnosis_dated_before_screening():
    patients, events = make_tables()
    events.loc[6, "date"] = pd.Timestamp("2023-02-01")  # P003 screened 2023-02-10
    assert_problem(problems_of(patients, events), "events", "date", "stage_order")


def test_screening_before_enrollment_and_duplicate_stage():
    patients, events = make_tables()
    extra = events.iloc[[4]].assign(date=pd.Timestamp("2023-01-20"))
    events = pd.concat([events, extra], ignore_index=True)
    events.loc[5, "date"] = pd.Timestamp("2023-01-01")  # P003 enrolled 2023-02-01
    error = problems_of(patients, events)
    assert_problem(error, "events", "date", "stage_order")
    assert_problem(error, "events", "stage", "duplicate_stage")


def test_result_not_matching_stage():
    patients, events = make_tables()
    events.loc[4, "result"] = "confirmed"  # a screening result must be positive/negative
    events.loc[3, "result"] = "negative"  # follow-up carries no result
    error = problems_of(patients, events)
    assert_problem(error, "events", "result", "result_stage_mismatch")
    assert len([p for p in error.problems if p.rule == "result_stage_mismatch"]) == 2


def test_next_appointment_before_event():
    patients, events = make_tables()
    events.loc[0, "next_appointment_date"] = pd.Timestamp("2023-01-01")
    assert_problem(problems_of(patients, events), "events", "next_appointment_date", "next_appointment_order")


def test_all_problems_are_collected():
    patients, events = make_tables()
    patients = patients.drop(columns="program")
    events.loc[4, "patient_id"] = "P999"
    events.loc[6, "stage"] = "surgery"
    error = problems_of(patients, events)
    assert {p.rule for p in error.problems} >= {"missing_column", "unknown_patient", "allowed_values"}
