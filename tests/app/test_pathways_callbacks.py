"""Pathways callbacks called directly (no browser) on the small generated dataset."""
import dash_bootstrap_components as dbc

from data.cohort_filter import apply_cohort, parse_query
from callbacks.overview import EMPTY_COHORT_MESSAGE
from callbacks.pathways import pathways_view, update_pathways
from data.cohorts import (BOTTLENECK_DEFINITION, bottleneck_text, breakdown, sankey_flows, stage_durations,
                          stage_losses)


def _cohort(app_data, query):
    return apply_cohort(app_data.cohort_frame, parse_query(query))


def _headline(view):
    return view.bottleneck.children[0].children


def _enrolled(figure):
    (trace,) = figure.data
    nodes = list(trace.node.customdata)
    return sum(v for s, v in zip(trace.link.source, trace.link.value) if nodes[s] == "Enrolled")


def test_whole_population(app_data):
    frame = app_data.cohort_frame
    view = pathways_view("")
    assert view.message is None
    assert _headline(view) == bottleneck_text(stage_losses(sankey_flows(frame)), stage_durations(frame))
    assert _headline(view).startswith("Biggest loss:")
    assert view.bottleneck.children[1].children == BOTTLENECK_DEFINITION
    assert _enrolled(view.sankey) == len(frame)
    assert len(view.durations.data[0].y) == 5
    assert sum(row["patients"] for row in view.site_rows) == len(frame)
    assert sum(row["patients"] for row in view.payer_rows) == len(frame)


def test_breakdown_rows_are_sorted_by_dropout_rate_and_json_safe(app_data):
    view = pathways_view("")
    rates = [row["dropout_rate"] for row in view.site_rows if row["dropout_rate"] is not None]
    assert rates == sorted(rates, reverse=True)
    expected = breakdown(app_data.cohort_frame, "payer")
    assert [row["group"] for row in view.payer_rows] == list(expected["group"])
    assert set(view.site_rows[0]) >= {"group", "patients", "completion_rate", "dropout_rate",
                                       "median_days_to_milestone", "in_progress"}
    assert all(isinstance(row["patients"], int) for row in view.site_rows)


def test_program_filter_changes_the_numbers(app_data):
    everyone = pathways_view("")
    for program in ("colorectal", "diabetes", "depression"):
        frame = _cohort(app_data, f"?program={program}")
        view = pathways_view(f"?program={program}")
        assert _enrolled(view.sankey) == len(frame) < len(app_data.cohort_frame)
        assert _headline(view) == bottleneck_text(stage_losses(sankey_flows(frame)), stage_durations(frame))
        assert _headline(view) != _headline(everyone)


def test_empty_cohort_gets_a_friendly_message(app_data):
    view = pathways_view("?from=2100-01-01")
    assert isinstance(view.message, dbc.Alert)
    assert view.message.children == EMPTY_COHORT_MESSAGE
    assert view.bottleneck is None
    assert view.sankey.layout.annotations[0].text
    assert view.durations.layout.annotations[0].text
    assert view.site_rows == [] and view.payer_rows == []


def test_update_pathways_returns_one_value_per_output(app_data):
    assert len(update_pathways("?program=colorectal")) == 9
