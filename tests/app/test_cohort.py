"""The cohort filter: URL query string round trips and row selection."""
import datetime as dt

import pandas as pd

from data.cohort_filter import (AGE_BOUNDS, CohortFilter, apply_cohort, from_controls, parse_query,
                              to_controls, to_query)


def test_everyone_has_an_empty_query():
    assert to_query(CohortFilter()) == ""
    assert parse_query("") == CohortFilter()
    assert parse_query(None) == CohortFilter()


def test_query_round_trip_is_canonical():
    cohort = CohortFilter(programs=("diabetes", "colorectal"), age_min=40, age_max=65, sexes=("F",),
                          payers=("Medicaid",), sites=("Site B", "Site A"),
                          enrolled_from=dt.date(2025, 1, 1), enrolled_to=dt.date(2025, 6, 30))
    query = to_query(cohort)
    # Contract order for programs, sorted sites, fixed key order: one cohort, one URL.
    assert query == ("?program=colorectal&program=diabetes&sex=F&payer=Medicaid"
                     "&site=Site+A&site=Site+B&age=40-65&from=2025-01-01&to=2025-06-30")
    assert parse_query(query) == parse_query(to_query(parse_query(query)))
    assert parse_query(query).programs == ("colorectal", "diabetes")


def test_bad_or_unknown_parts_are_ignored():
    cohort = parse_query("?program=nope&program=diabetes&age=abc&from=2025-13-45&sex=X&whatever=1")
    assert cohort == CohortFilter(programs=("diabetes",))


def test_age_is_clipped_and_full_range_means_no_restriction():
    low, high = AGE_BOUNDS
    assert parse_query(f"?age={low}-{high}") == CohortFilter()
    assert parse_query(f"?age={low}-{high + 80}") == CohortFilter()
    assert parse_query("?age=70-30") == CohortFilter(age_min=30, age_max=70)
    assert parse_query("?age=50-") == CohortFilter(age_min=50)


def test_unknown_sites_dropped_when_sites_are_known():
    assert parse_query("?site=Gone&site=Here", sites=("Here",)).sites == ("Here",)
    assert parse_query("?site=Gone&site=Here").sites == ("Gone", "Here")


def test_controls_round_trip():
    cohort = parse_query("?program=depression&race=Black&region=rural&age=30-50&from=2025-02-01&risk=high")
    assert from_controls(*to_controls(cohort)) == cohort
    # Untouched controls (full age range, empty multi-selects) are "everyone".
    assert from_controls(None, [AGE_BOUNDS[0], AGE_BOUNDS[1]], [], None, [], [], [], None, None, []) == CohortFilter()
    # Date pickers may send a time part.
    assert from_controls([], None, [], [], [], [], [], "2025-03-04T00:00:00", None, []).enrolled_from == dt.date(2025, 3, 4)


def _frame():
    return pd.DataFrame({
        "patient_id": ["a", "b", "c", "d"],
        "program": ["colorectal", "diabetes", "diabetes", "depression"],
        "age": [30, 45, 70, 64],
        "sex": ["F", "M", "F", "F"],
        "race_ethnicity": ["White", "Black", "Asian", "Other"],
        "payer": ["Medicaid", "Medicare", "Medicare", "Commercial"],
        "region": ["urban", "rural", "urban", "suburban"],
        "site": ["S1", "S2", "S1", "S3"],
        "enrollment_date": pd.to_datetime(["2025-01-01", "2025-02-15", "2025-03-31", "2025-04-01"]),
    })


def _ids(frame):
    return list(frame["patient_id"])


def test_apply_cohort_selects_rows():
    frame = _frame()
    assert _ids(apply_cohort(frame, CohortFilter())) == ["a", "b", "c", "d"]
    assert _ids(apply_cohort(frame, parse_query("?program=diabetes"))) == ["b", "c"]
    assert _ids(apply_cohort(frame, parse_query("?program=diabetes&sex=F"))) == ["c"]
    assert _ids(apply_cohort(frame, parse_query("?age=40-64"))) == ["b", "d"]
    assert _ids(apply_cohort(frame, parse_query("?payer=Medicare&region=urban"))) == ["c"]
    assert _ids(apply_cohort(frame, parse_query("?race=White&race=Other"))) == ["a", "d"]
    assert _ids(apply_cohort(frame, parse_query("?site=S1"))) == ["a", "c"]
    # Enrollment period is inclusive at both ends.
    assert _ids(apply_cohort(frame, parse_query("?from=2025-02-15&to=2025-03-31"))) == ["b", "c"]
    assert _ids(apply_cohort(frame, parse_query("?program=colorectal&age=60-100"))) == []


def test_risk_tier_round_trips_the_url_and_keeps_only_scored_patients_of_that_tier():
    cohort = parse_query("?risk=high")
    assert cohort.risk_tiers == ("high",)
    assert to_query(cohort) == "?risk=high"
    frame = _frame().assign(risk=[0.9, None, 0.5, 0.8], risk_tier=["High", None, "Medium", "High"])
    assert _ids(apply_cohort(frame, cohort)) == ["a", "d"]
    assert _ids(apply_cohort(frame, parse_query("?risk=high&risk=medium"))) == ["a", "c", "d"]
    # a frame without scores (no model) is left unfiltered rather than emptied
    assert len(apply_cohort(_frame(), cohort)) == 4
