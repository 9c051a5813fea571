"""The follow-up quality measure on a hand-built cohort: numerator, denominator and each
exclusion; the definition format's rules; and the command line's JSON."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.analytics.intervals import wilson_interval
from data.measures import evaluate_patients, measure_result
from data.measures.__main__ import main
from data.pathway import DEFAULT_PATHWAY, PathwayError, parse_pathway
from tests.two_stage import PATHWAY_TOML

AS_OF = "2026-09-30"
MEASURE = DEFAULT_PATHWAY.program("colorectal").measures[0]


def _patient(pid, screen=None, result=None, colonoscopy=None, age=60, program="colorectal", site="North",
             enrolled="2025-01-01"):
    return {"patient_id": pid, "program": program, "enrollment_date": pd.Timestamp(enrolled),
            "screening_date": pd.Timestamp(screen) if screen else pd.NaT, "screening_result": result,
            "diagnosis_date": pd.Timestamp(colonoscopy) if colonoscopy else pd.NaT, "age": age, "site": site}


COHORT = pd.DataFrame([
    _patient("met-day-0", "2025-02-01", "positive", "2025-02-01"),
    _patient("met-day-180", "2025-02-01", "positive", "2025-07-31"),  # day 180: still within
    _patient("gap-day-181", "2025-02-01", "positive", "2025-08-01"),  # one day late
    _patient("gap-never", "2025-03-10", "positive", site="South"),
    _patient("negative", "2025-02-01", "negative"),  # no index event
    _patient("not-screened"),
    _patient("other-program", "2025-02-01", "positive", program="diabetes"),
    _patient("open-window-met", "2026-06-01", "positive", "2026-06-20"),  # window open at as-of
    _patient("open-window", "2026-04-04", "positive"),  # day 179 at as-of: still open
    _patient("closed-window", "2026-04-03", "positive", site="South"),  # day 180 at as-of: closed → gap
    _patient("too-young", "2025-02-01", "positive", "2025-02-10", age=44),
    _patient("turns-76", "2027-01-01", "positive", age=75, enrolled="2025-01-01"),
    _patient("no-age", "2025-02-01", "positive", age=None),
])


def _by_id(evaluated):
    return dict(zip(evaluated["patient_id"], evaluated["evaluation"]))


def test_each_patient_lands_in_one_evaluation_group():
    cohort = COHORT[COHORT["patient_id"] != "turns-76"]
    groups = _by_id(evaluate_patients(cohort, "colorectal", MEASURE, AS_OF))
    assert groups == {
        "met-day-0": "met", "met-day-180": "met", "gap-day-181": "gap", "gap-never": "gap",
        "open-window-met": "not_yet_evaluable", "open-window": "not_yet_evaluable", "closed-window": "gap",
        "too-young": "excluded_age_out_of_range", "no-age": "excluded_age_not_recorded",
    }


def test_age_is_taken_at_the_index_event_not_at_enrollment():
    # Enrolled at 75, screened two years later: 77 at the screen, outside 45-75.
    cohort = COHORT[COHORT["patient_id"] == "turns-76"]
    assert _by_id(evaluate_patients(cohort, "colorectal", MEASURE, "2028-01-01")) == {
        "turns-76": "excluded_age_out_of_range"}


def test_numerator_denominator_rate_and_breakdowns():
    result = measure_result(COHORT[COHORT["patient_id"] != "turns-76"], "colorectal", MEASURE, AS_OF)
    overall = result.overall.iloc[0]
    assert (overall["numerator"], overall["denominator"], overall["gap"]) == (2, 5, 3)
    assert (overall["not_yet_evaluable"], overall["excluded_age_out_of_range"],
            overall["excluded_age_not_recorded"]) == (2, 1, 1)
    assert overall["rate"] == pytest.approx(0.4)
    lower, upper = wilson_interval(2, 5)
    assert (overall["rate_lower"], overall["rate_upper"]) == pytest.approx((float(lower), float(upper)))
    sites = result.by_site.set_index("group")
    assert sites.loc["North", ["numerator", "denominator"]].tolist() == [2, 3]
    assert sites.loc["South", ["numerator", "denominator"]].tolist() == [0, 2]
    months = result.by_month.set_index("group")
    assert months.loc["2025-02", ["numerator", "denominator"]].tolist() == [2, 3]
    assert months["denominator"].sum() == 5
    assert sorted(result.gap_patient_ids) == ["closed-window", "gap-day-181", "gap-never"]
    for table in (result.overall, result.by_site, result.by_month):
        for column in ("numerator", "denominator", "gap", "not_yet_evaluable"):
            assert pd.api.types.is_integer_dtype(table[column])


def test_wilson_interval_matches_the_textbook_value():
    # 8 of 10 at 95 %: (0.4902, 0.9433) (Newcombe 1998, table I style check)
    lower, upper = wilson_interval(8, 10)
    assert (float(lower), float(upper)) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    lower, upper = wilson_interval(0, 0)
    assert np.isnan(lower) and np.isnan(upper)


def test_a_program_without_a_measure_has_none():
    assert DEFAULT_PATHWAY.program("diabetes").measures == ()
    assert parse_pathway(PATHWAY_TOML).measures == ()




@pytest.mark.parametrize("change, field", [
    ('follow_up_stage = "diagnosis"', 'follow_up_stage = "screening"'),
    ('index_results = ["positive"]', 'index_results = ["negative"]'),
    ("within_days = 180", "within_days = 0"),
    ("age_min = 45", "age_min = 80"),
    ("age_max = 75", "age_max = 75\ncolour = 1"),
])
def test_a_broken_measure_is_refused_naming_the_field(change, field):
    text = Path(DEFAULT_PATHWAY.source).read_text(encoding="utf-8")
    assert change in text
    with pytest.raises(PathwayError, match=r"programs\.colorectal\.measures\[0\]"):
        parse_pathway(text.replace(change, field), "pathway.toml")


def test_command_line_writes_aggregates_only(small_dataset, tmp_path, capsys):
    out = tmp_path / "measures.json"
    assert main([str(small_dataset.source_dir), "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    measure = written["measures"][0]
    assert measure["measure"] == "follow_up_colonoscopy"
    overall = measure["overall"]
    assert overall["denominator"] == overall["numerator"] + overall["gap"] > 0
    assert sum(row["denominator"] for row in measure["by_month"]) == overall["denominator"]
    assert "patient" not in out.read_text().lower()
    assert "rate:" in capsys.readouterr().out
