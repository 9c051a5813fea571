"""Journeys page callbacks called directly: the incidence curves follow the cohort and the
compared groups, the risk table adds up, the variants add up to the cohort, and a click on
a variant or a Sankey node becomes the URL's selection."""
from __future__ import annotations

import pandas as pd
from dash import no_update

from callbacks import context
from callbacks.filter_panel import (
    query_from_panel,
    selection_chip_list,
    selection_update,
)
from callbacks.journeys import (
    MAX_GROUPS,
    group_options,
    journeys_view,
    limit_groups,
    selection_from_variant_click,
)
from callbacks.pathways import selection_from_sankey_click
from data.analytics.time_to_next_stage import estimate_of_counts, time_to_next_stage
from data.cohort_filter import CohortFilter, to_controls
from tests.app.component_text import component_text as text_of

EVERYONE = to_controls(CohortFilter())


def _estimates_in(figure):
    return [trace for trace in figure.data if trace.mode == "lines" and trace.showlegend]


def test_cohort_curves_and_risk_table_add_up(app_data):
    view = journeys_view("", "diagnosis", "", [])
    legend = _estimates_in(view.incidence)
    follow_up = app_data.follow_up[app_data.follow_up["awaiting_stage"] == "diagnosis"]
    assert [t.name for t in legend] == [f"Cohort (n = {len(follow_up):,})"]
    # Three panels at diagnosis (it can rule cancer out), two at treatment (nothing ends there).
    assert len([a for a in view.incidence.layout.annotations]) == 3
    assert len(journeys_view("", "treatment", "", []).incidence.layout.annotations) == 2
    table = text_of(view.risk_table)
    assert "At risk" in table and "Censored: In progress" in table


def test_compared_groups_each_get_a_curve_and_at_most_three(app_data):
    sites = [option["value"] for option in group_options("", "site")]
    assert len(sites) >= 4
    view = journeys_view("", "diagnosis", "site", sites[:3])
    names = [t.name.split(" (n")[0] for t in _estimates_in(view.incidence)]
    assert names == sites[:3]
    assert limit_groups(sites[:4]) == sites[:3] and len(sites[:3]) == MAX_GROUPS
    assert limit_groups(sites[:2]) is no_update


def test_variants_follow_the_cohort_and_add_up(app_data):
    everyone = journeys_view("", "diagnosis", "", [])
    assert sum(row["patients"] for row in everyone.variant_rows) == len(app_data.cohort_frame)
    diabetes = journeys_view("?program=diabetes", "diagnosis", "", [])
    expected = int((app_data.cohort_frame["program"] == "diabetes").sum())
    assert sum(row["patients"] for row in diabetes.variant_rows) == expected
    # Every percentage carries its numerator and denominator.
    first = everyone.variant_rows[0]
    assert f"{first['patients']:,} / {len(app_data.cohort_frame):,}" in first["share"]


def test_a_variant_click_selects_it_and_the_query_carries_it(app_data):
    row = journeys_view("", "diagnosis", "", []).variant_rows[0]
    selection = selection_from_variant_click({"rowId": row["key"], "colId": "label"}, {})
    assert selection == {"variant": row["key"]}
    assert selection_from_variant_click({"rowId": "other"}, {}) is no_update
    assert selection_from_variant_click({"rowId": "not.a-variant"}, {}) is no_update
    query = query_from_panel(*EVERYONE, selection)
    assert query == f"?variant={row['key']}"
    assert len(context.cohort_frame(query)) == row["patients"]
    chips = text_of(selection_chip_list(selection))
    assert "Journey variant" in chips and row["label"].split(" → ")[0] in chips


def test_a_sankey_node_click_selects_it_and_a_link_click_does_not(app_data):
    click = {"points": [{"customdata": "Positive screen", "label": "Positive screen · 1,234", "pointNumber": 5}]}
    assert selection_from_sankey_click(click, {"variant": "screening.positive"}) == {
        "variant": "screening.positive", "node": "positive-screen"}
    link = {"points": [{"source": {"label": "Screened"}, "target": {"label": "Positive screen"}, "value": 3}]}
    assert selection_from_sankey_click(link, {}) is no_update
    positive = (app_data.cohort_frame["screening_result"] == "positive").sum()
    assert len(context.cohort_frame("?node=positive-screen")) == positive


def test_the_selection_follows_the_url_reset_and_chip_removal(app_data):
    assert selection_update("?program=diabetes&node=screened", False, None, {}) == {"node": "screened"}
    assert selection_update("?node=screened", False, None, {"node": "screened"}) is no_update
    assert selection_update("?node=screened", True, None, {"node": "screened"}) == {}
    assert selection_update("?node=screened&variant=none", False, "node",
                            {"node": "screened", "variant": "none"}) == {"variant": "none"}
    assert selection_update("?node=bogus", False, None, {"node": "screened"}) == {}


def test_the_cohorts_decision_points_are_those_of_its_patients(app_data):
    """The incidence counts the cohort's decision points by position (AppData.stage_follow_up):
    the same estimate as from the rows matched by patient id against the cohort, for the whole
    population, a filter, a Sankey node and an empty cohort, at every decision stage, and for a
    compared group."""
    follow_up = app_data.follow_up
    for query in ("", "?program=diabetes&sex=F", "?node=awaiting-diagnosis", "?from=2099-01-01"):
        frame = context.cohort_frame(query)
        found = 0
        for stage in context.pathway().decision_stages:
            expected = follow_up[(follow_up["awaiting_stage"] == stage)
                                 & follow_up["patient_id"].isin(frame["patient_id"])]
            stage_follow_up = app_data.stage_follow_up(stage)
            in_cohort = stage_follow_up.in_cohort(context.cohort_rows(query))
            _assert_same_estimate(estimate_of_counts(stage_follow_up.counts(in_cohort)), time_to_next_stage(expected))
            site = str(frame["site"].iloc[0]) if len(frame) else "none"
            _assert_same_estimate(estimate_of_counts(stage_follow_up.counts(in_cohort & stage_follow_up.group("site", site))),
                                  time_to_next_stage(expected[expected["site"].astype(str) == site]))
            found += int(in_cohort.sum())
        assert (found > 0) is (query != "?from=2099-01-01"), query


def _assert_same_estimate(got, expected):
    assert got.n == expected.n
    pd.testing.assert_frame_equal(got.table, expected.table, check_exact=True)
    pd.testing.assert_frame_equal(got.incidence.curves, expected.incidence.curves, check_exact=True)
    pd.testing.assert_frame_equal(got.incidence.survival, expected.incidence.survival, check_exact=True)
