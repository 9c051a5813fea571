"""Worklist callbacks called directly (no browser) on the small generated dataset."""
import base64
import io

import dash_bootstrap_components as dbc
import pandas as pd
import pytest

from callbacks import context
from callbacks.overview import EMPTY_COHORT_MESSAGE
from callbacks.worklist import (ALL, DEFAULT_CAPACITY, NO_ACTIVE_MESSAGE, export_csv, update_worklist,
                                worklist_view)
from components.worklist_table import COLUMNS, booked_text, export_frame, patient_href
from tests.app.component_text import component_text


def _ids(rows):
    return [row["patient_id"] for row in rows]


def _expected(app_data, query):
    """Scored patients of the cohort, highest risk first, from first principles."""
    cohort = set(context.cohort_frame(query)["patient_id"])
    scores = app_data.risk_scores
    return scores[scores["patient_id"].isin(cohort)].sort_values("risk", ascending=False, kind="stable")


def test_whole_cohort_ranked_by_risk(app_data):
    view = worklist_view("", DEFAULT_CAPACITY, "risk")
    expected = _expected(app_data, "")
    assert view.message is None
    assert len(view.rows) == min(DEFAULT_CAPACITY, len(expected))
    assert _ids(view.rows) == list(expected["patient_id"][:len(view.rows)])
    risks = [row["risk"] for row in view.rows]
    assert risks == sorted(risks, reverse=True)
    assert [row["rank"] for row in view.rows] == list(range(1, len(view.rows) + 1))


@pytest.mark.parametrize("capacity", [10, 25, ALL])
def test_capacity_gives_the_top_n_by_risk_in_order(app_data, capacity):
    expected = _expected(app_data, "")
    n = len(expected) if capacity == ALL else min(capacity, len(expected))
    view = worklist_view("", capacity, "risk")
    assert _ids(view.rows) == list(expected["patient_id"][:n])
    summary = view.summary.children[0].children
    expected_dropouts = expected["risk"][:n].sum()
    assert f"{expected_dropouts:,.1f}" in summary
    assert (f"Top {n} of {len(expected)}" in summary) if n < len(expected) else summary.startswith("All")


def test_program_filter(app_data):
    for program in ("colorectal", "diabetes", "depression"):
        view = worklist_view(f"?program={program}", ALL, "risk")
        assert _ids(view.rows) == list(_expected(app_data, f"?program={program}")["patient_id"])
        assert {row["program"] for row in view.rows} <= {program.capitalize()}
    everyone = worklist_view("", ALL)
    assert sum(len(worklist_view(f"?program={p}", ALL).rows) for p in ("colorectal", "diabetes", "depression")) \
        == len(everyone.rows)


def test_risk_tier_filter(app_data):
    high = worklist_view("?risk=high", ALL, "risk")
    assert high.rows and {row["risk_tier"] for row in high.rows} == {"High"}
    assert all(row["risk"] >= 0.70 for row in high.rows)
    assert _ids(high.rows) == list(_expected(app_data, "?risk=high")["patient_id"])
    medium_low = worklist_view("?risk=medium&risk=low", ALL)
    assert {row["risk_tier"] for row in medium_low.rows} <= {"Medium", "Low"}
    assert len(high.rows) + len(medium_low.rows) == len(worklist_view("", ALL).rows)


def test_rows_link_to_the_patient_page_keeping_the_cohort(app_data):
    view = worklist_view("?program=diabetes", 10)
    row = view.rows[0]
    assert row["patient_link"] == f"[{row['patient_id']}](/patient?id={row['patient_id']}&program=diabetes)"
    assert patient_href("P1", "") == "/patient?id=P1"


def test_row_contents_match_the_scores(app_data):
    row = worklist_view("", 1).rows[0]
    score = app_data.risk_scores.set_index("patient_id").loc[row["patient_id"]]
    assert row["stage_name"] == score["stage_name"]
    assert row["waited_days"] == int(score["waited_days"])
    assert row["top_drivers"] == score["top_drivers"]
    assert row["booked"] == booked_text(score["booked_date"], score["days_until_appointment"])


def test_booked_text():
    assert booked_text(pd.Timestamp("2026-08-01"), -60) == "2026-08-01 · passed 60 days ago, no visit"
    assert booked_text(pd.Timestamp("2026-08-01"), -1) == "2026-08-01 · passed 1 day ago, no visit"
    assert booked_text(pd.Timestamp("2026-08-01"), 0) == "2026-08-01 · today"
    assert booked_text(pd.Timestamp("2026-08-01"), 5) == "2026-08-01 · in 5 days"


def _csv(download) -> pd.DataFrame:
    content = download["content"]
    if download.get("base64"):
        content = base64.b64decode(content).decode()
    return pd.read_csv(io.StringIO(content), dtype=str, keep_default_na=False)


def test_export_is_exactly_the_rows_shown(app_data):
    rows = worklist_view("", 10).rows
    # Re-sorted in the grid (fewest days waiting first): the rebuilt rows follow its column state.
    by_wait = [{"colId": "waited_days", "sort": "asc", "sortIndex": 0}, {"colId": "risk", "sort": None}]
    download = export_csv(1, "", 10, column_state=by_wait)
    assert download["filename"].endswith(".csv")
    exported = _csv(download)
    assert list(exported.columns) == [header for _, header, _ in COLUMNS]
    expected = sorted(rows, key=lambda row: row["waited_days"])
    assert list(exported["Patient"]) == _ids(expected)
    assert exported.equals(export_frame(expected).astype(str))
    # A column filter on: the grid reports the ids it lets through, in its order.
    shown = sorted([row for row in rows if row["program"] != "Diabetes"] or rows[:3],
                   key=lambda row: row["waited_days"], reverse=True)
    assert list(_csv(export_csv(1, "", 10, ids_shown=_ids(shown)))["Patient"]) == _ids(shown)
    # Unsorted, unfiltered: the list as ranked.
    assert list(_csv(export_csv(1, "", 10))["Patient"]) == _ids(rows)


def test_export_frame_holds_the_shown_values(app_data):
    rows = worklist_view("", 5).rows
    frame = export_frame(rows)
    assert len(frame) == len(rows)
    assert list(frame["Risk of dropping out"]) == [row["risk_text"] for row in rows]
    assert list(frame["Why (top drivers)"]) == [row["top_drivers"] for row in rows]


def test_no_export_before_a_click_or_without_rows(app_data):
    from dash import no_update

    assert export_csv(None, "", 5) is no_update
    assert export_csv(1, "", 5, ids_shown=[]) is no_update  # the grid filtered everything out


def test_empty_cohort_and_no_active_patients(app_data):
    view = worklist_view("?from=2100-01-01")
    assert isinstance(view.message, dbc.Alert) and view.message.children == EMPTY_COHORT_MESSAGE
    assert view.rows == [] and view.summary is None and view.body_hidden
    # Patients enrolled after every scored patient: a cohort, but nobody awaiting a booked stage.
    frame = app_data.cohort_frame
    after = frame.loc[frame["risk"].notna(), "enrollment_date"].max() + pd.Timedelta(days=1)
    query = f"?from={after:%Y-%m-%d}"
    assert not context.cohort_frame(query).empty
    view = worklist_view(query)
    assert view.message.children == NO_ACTIVE_MESSAGE and view.rows == []


def test_update_worklist_returns_one_value_per_output(app_data):
    outputs = update_worklist("?program=colorectal", 25)
    assert len(outputs) == 4 and outputs[1] is False


def test_ranking_by_gain_risk_or_deadline_orders_a_hand_made_list():
    from callbacks.worklist import DEADLINE, GAIN, RISK, ranked

    frame = pd.DataFrame({
        "patient_id": ["a", "b", "c", "d"],
        "risk": [0.9, 0.5, 0.7, 0.5],
        "expected_gain": [0.01, 0.20, 0.08, float("nan")],  # the riskiest gains least: no proportionality
        "window_closes": pd.to_datetime(["2026-12-01", "2026-10-05", "2026-10-20", "2026-10-05"]),
    })
    assert list(ranked(frame, GAIN)["patient_id"]) == ["b", "c", "a", "d"]  # unknown gain last
    assert list(ranked(frame, RISK)["patient_id"]) == ["a", "c", "b", "d"]  # ties by id
    assert list(ranked(frame, DEADLINE)["patient_id"]) == ["b", "d", "c", "a"]


def test_by_default_the_list_is_ranked_by_expected_gain_when_the_benefit_model_exists(app_data):
    from callbacks.worklist import GAIN, gain_available

    assert gain_available()  # the generated data carries the pilot's outreach log
    view = worklist_view("", ALL)
    gains = [row["expected_gain"] for row in view.rows if row["expected_gain"] is not None]
    assert gains == sorted(gains, reverse=True) and len(gains) == len(view.rows)
    assert "by expected gain if called" in component_text(view.summary)
    assert "expected extra completions if all are called" in component_text(view.summary)
    assert view.rows[0]["gain_text"].startswith("+") and view.rows[0]["gain_text"].endswith(" pts")
    assert worklist_view("", 10, GAIN).rows == worklist_view("", 10).rows


def test_without_a_benefit_model_the_list_falls_back_to_risk_and_says_so(app_data, monkeypatch):
    import dataclasses

    from callbacks.worklist import GAIN, RISK, gain_available, sort_choice

    no_log = app_data.models.scores.drop(columns=[c for c in app_data.models.scores if c.startswith("expected_gain")])
    monkeypatch.setattr(context, "_current",
                        dataclasses.replace(app_data, models=dataclasses.replace(app_data.models, scores=no_log)))
    assert not gain_available()
    assert sort_choice(GAIN) == RISK and sort_choice("nonsense") == RISK
    view = worklist_view("", 10, GAIN)
    assert "by risk of dropping out" in component_text(view.summary)


def test_deadline_ranking_puts_the_soonest_window_first_and_shows_it(app_data):
    from callbacks.worklist import DEADLINE

    view = worklist_view("", ALL, DEADLINE)
    days = [row["closes_in_days"] for row in view.rows]
    assert days == sorted(days) and days[0] >= 0
    assert view.rows[0]["closes_text"].startswith(("today", "in "))


def test_the_url_sets_capacity_and_ranking_and_bad_values_fall_back(app_data):
    from callbacks.worklist import DEADLINE, GAIN, RISK, initial_controls

    assert initial_controls({"n": "100", "sort": "deadline"}) == (100, DEADLINE)
    assert initial_controls({"n": "all", "sort": "risk"}) == (ALL, RISK)
    assert initial_controls({"n": "7", "sort": "<script>"}) == (DEFAULT_CAPACITY, GAIN)
    assert initial_controls({}) == (DEFAULT_CAPACITY, GAIN)
