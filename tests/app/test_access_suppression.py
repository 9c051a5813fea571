"""Small-cell suppression: an analyst sees no count from 1 to 10 on any aggregate view
(Overview KPIs, funnel, trend and "How these numbers relate"; Pathways Sankey, waits and
breakdowns; Model subgroups; Scenarios; Journeys risk table, variants, group options and
curves; Quality summary, by-site table and trend), while a coordinator sees the exact numbers."""
from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
import pytest

from callbacks.access_scope import Principal

ANALYST = Principal("t-analyst", "analyst", ())
COORDINATOR = Principal("t-coordinator-all", "coordinator", None)
COUNT_FIELDS = {"patients", "resolved", "in_progress", "completed", "dropped_out", "rows", "exited"}
SMALL = re.compile(r"^(?:[1-9]|10)$")
SMALL_IN_TEXT = re.compile(r"(?<![\d.,])(?:[1-9]|10)(?![\d.,%])\s+(?:patients|positive screens|contacts)\b"
                           r"|(?<![\d.,])(?:[1-9]|10)\)$"  # a group option's size, "North (7)"
                           r"|\((?:[1-9]|10) / |\(\d[\d,]* / (?:[1-9]|10)\)"  # "40.0 % (2 / 5)"
                           r"|\b(?:completed|dropped out|enrolled|exited appropriately|in progress|[Ss]creened"
                           r"|[Nn]ot screened|= |\+ )[a-z ]*:? ?(?:[1-9]|10)(?![\d.,%])"  # reconciliation counts
                           r"|\(n = (?:[1-9]|10)\)")  # a curve's legend


def small_cohort(app_data, size: int = 60) -> str:
    """An enrolment window holding about ``size`` patients: big enough for some cells to show,
    small enough that many are under 11."""
    dates = pd.to_datetime(app_data.cohort_frame["enrollment_date"]).sort_values().reset_index(drop=True)
    return f"?from={dates.iloc[0]:%Y-%m-%d}&to={dates.iloc[size - 1]:%Y-%m-%d}"


def small_counts(value, where: str = "") -> list[str]:
    """Every count from 1 to 10 in a callback output: KPI and table text, grid count fields,
    figure values that are counts (funnel bars, Sankey links, monthly trend)."""
    found = []
    if isinstance(value, go.Figure):
        value = value.to_plotly_json()
    if hasattr(value, "to_plotly_json"):  # a Dash component
        value = value.to_plotly_json().get("props", {})
    if isinstance(value, dict) and "data" in value and "layout" in value:  # a figure
        for trace in value["data"]:
            kind = trace.get("type")
            numbers = (trace.get("x") if kind == "funnel" else trace.get("link", {}).get("value") if kind == "sankey"
                       else trace.get("y") if kind in ("bar", "scatter") and "Enrolled" in str(trace.get("name", ""))
                       + "Completed pathway" else None)
            if kind in ("bar", "scatter") and trace.get("name") not in ("Enrolled", "Completed pathway"):
                numbers = None  # not a count (e.g. a rate, or the scenario's expected patients)
            if kind == "scatter" and trace.get("name") == "Rate":  # a Quality month: numerator, denominator, ...
                points = [list(point) for point in trace.get("customdata") or []]
                numbers = [p[0] for p in points] + [p[1] for p in points] + [p[1] - p[0] for p in points]
            found += small_counts(trace.get("name"), f"{where}/{kind}.name")
            for number in list(numbers if numbers is not None else []):
                if isinstance(number, (int, float)) and not pd.isna(number) and 0 < number < 11:
                    found.append(f"{where}/{kind}: {number}")
        return found
    if isinstance(value, dict):
        for key, item in value.items():
            if key in COUNT_FIELDS and isinstance(item, (int, float)) and 0 < item < 11:
                found.append(f"{where}.{key}: {item}")
            elif key not in ("style", "className", "id"):
                found += small_counts(item, f"{where}.{key}")
        return found
    if isinstance(value, (list, tuple)):
        for position, item in enumerate(value):
            found += small_counts(item, f"{where}[{position}]")
        return found
    if isinstance(value, str) and (SMALL.match(value.strip()) or SMALL_IN_TEXT.search(value)):
        found.append(f"{where}: {value!r}")
    return found


def aggregate_outputs(cohort_query: str, app_data) -> dict[str, tuple]:
    from callbacks import context, journeys, measures, model, overview, pathways, scenarios

    report = app_data.models.report
    pathway = context.pathway()
    sites = [option["value"] for option in journeys.group_options(cohort_query, "site")]
    return {
        **{f"journeys {stage}": journeys.update_journeys(cohort_query, stage, "", [])
           for stage in pathway.decision_stages},
        **{f"journeys {stage} by site": journeys.update_journeys(cohort_query, stage, "site", sites[:3])
           for stage in pathway.decision_stages},
        "journeys site options": journeys.group_options(cohort_query, "site"),
        "quality": measures.update_quality(cohort_query + "&program=colorectal", None),
        "quality, a larger cohort": measures.update_quality(small_cohort(app_data, 1500) + "&program=colorectal",
                                                           None),
        "reconciliation": (overview.reconciliation_view(cohort_query),),
        "overview": overview.update_overview(cohort_query),
        "pathways": pathways.update_pathways(cohort_query),
        **{f"model subgroups {name}": (model.subgroup_view(name),) for name in report["models"]},
        "scenarios": scenarios.update_scenario(cohort_query, *scenarios.controls_from_levers(
            scenarios.PRESET_CHOICES[next(iter(scenarios.PRESETS))])),
    }


def test_analyst_sees_no_count_under_11_on_any_aggregate_view(app_data, as_user):
    cohort = small_cohort(app_data)
    with as_user(ANALYST):
        outputs = aggregate_outputs(cohort, app_data)
    leaks = {view: small_counts(values) for view, values in outputs.items()}
    assert {view: found for view, found in leaks.items() if found} == {}
    # Suppressed cells say so instead of disappearing silently.
    assert "<11" in str(outputs["overview"]) and "<11" in str(outputs["pathways"])
    for view in ("journeys site options", "quality", "reconciliation"):
        assert "<11" in str(outputs[view]), view


def test_the_same_views_show_small_counts_to_a_coordinator(app_data, as_user):
    """The walker finds small counts when they are there (so the test above can fail)."""
    with as_user(COORDINATOR):
        outputs = aggregate_outputs(small_cohort(app_data), app_data)
    assert small_counts(outputs["overview"]) and small_counts(outputs["pathways"])
    for view in ("journeys treatment", "journeys site options", "quality", "quality, a larger cohort",
                 "reconciliation"):
        assert small_counts(outputs[view]), view


def _curve_ends(figure) -> list[float]:
    return [max(trace.x) for trace in figure.data if trace.mode == "lines" and trace.x]


def test_an_analysts_incidence_curves_stop_where_fewer_than_11_remain_at_risk(app_data, as_user):
    from callbacks import journeys, suppression
    from data.analytics.time_to_next_stage import time_to_next_stage

    from callbacks import context

    stage, cohort = context.pathway().decision_stages[0], small_cohort(app_data, 600)
    follow_up = app_data.follow_up[(app_data.follow_up["awaiting_stage"] == stage)
                                   & app_data.follow_up["patient_id"].isin(context.cohort_frame(cohort)["patient_id"])]
    estimate = time_to_next_stage(follow_up)
    cut = suppression.incidence_cut(estimate)
    assert estimate.n >= 11 and cut is not None  # a cohort big enough to show, whose tail thins below 11
    with as_user(COORDINATOR):
        full = journeys.journeys_view(cohort, stage, "", []).incidence
    with as_user(ANALYST):
        shown = journeys.journeys_view(cohort, stage, "", []).incidence
    assert max(_curve_ends(full)) > cut
    assert max(_curve_ends(shown)) <= cut
    assert any("fewer than 11" in (a.text or "") for a in shown.layout.annotations)
    assert not any("fewer than 11" in (a.text or "") for a in full.layout.annotations)


def test_model_subgroup_rates_are_suppressed_when_their_events_are_few():
    from callbacks.suppression import SUPPRESSED, subgroup_rows

    rows = [{"attribute": "Payer", "group": "Other", "rows": 60, "roc_auc": 0.7, "observed_rate": 0.1,
             "mean_predicted": 0.12, "calibration_gap": 0.02, "ece": 0.03},
            {"attribute": "Payer", "group": "Medicare", "rows": 600, "roc_auc": 0.7, "observed_rate": 0.3,
             "mean_predicted": 0.3, "calibration_gap": 0.0, "ece": 0.02}]
    shown = subgroup_rows(rows)
    assert shown[0]["observed_rate"] == SUPPRESSED and shown[0]["roc_auc"] == SUPPRESSED  # 6 dropouts
    assert shown[1] == rows[1]


@pytest.mark.parametrize("numerator, denominator, shown", [(5, 500, "<11"), (400, 8, "<11"), (0, 500, "0.0%"),
                                                             (50, 500, "10.0%")])
def test_a_rate_is_suppressed_when_its_numerator_or_denominator_is_small(numerator, denominator, shown):
    from callbacks.suppression import rate_text

    assert rate_text(numerator / denominator, numerator, denominator) == shown


def test_model_page_counts_resting_on_few_rows_are_suppressed(app_data, as_user):
    from callbacks import model
    from callbacks.suppression import SUPPRESSED, model_report

    report = {
        "primary_model": "m",
        "decisions": {"capacity": [{"ranking": "m", "calls_per_week": 5, "calls": 40, "dropouts_reached": 7,
                                    "share_of_dropouts": 0.2, "calls_per_dropout_reached": 5.7},
                                   {"ranking": "m", "calls_per_week": 50, "calls": 400, "dropouts_reached": 70,
                                    "share_of_dropouts": 0.5, "calls_per_dropout_reached": 5.7}]},
        "models": {"m": {"by_landmark": [{"waited_days": 150, "rows": 9, "roc_auc": 0.7, "oracle_roc_auc": 0.8}],
                         "decision_day": {"rows": 900, "roc_auc": 0.7}}},
        "monitoring": {"current": {"in_progress_patients": 4, "estimated": {"dropout_rate": 0.25, "roc_auc": 0.7}},
                       "by_month": [{"month": "2026-01", "rows": 200, "observed_rate": 0.02, "roc_auc": 0.7,
                                     "mean_predicted": 0.1, "calibration_in_the_large": -0.08,
                                     "estimated_roc_auc": 0.7}]},
    }
    shown = model_report(report)
    small, large = shown["decisions"]["capacity"]
    assert small["dropouts_reached"] == SUPPRESSED and small["calls_per_dropout_reached"] is None
    assert large == report["decisions"]["capacity"][1]
    assert shown["models"]["m"]["by_landmark"][0]["rows"] == SUPPRESSED
    assert shown["models"]["m"]["decision_day"] == report["models"]["m"]["decision_day"]
    assert shown["monitoring"]["current"]["in_progress_patients"] == SUPPRESSED
    assert shown["monitoring"]["by_month"][0]["observed_rate"] is None  # 4 dropouts in 200 rows
    assert report["decisions"]["capacity"][0]["dropouts_reached"] == 7  # the shared report is untouched
    with as_user(ANALYST):
        assert model.update_model("/model")  # the real page renders for an analyst
