"""Journey variants add up to the cohort and follow the events' order; the variant and
Sankey-node selections round-trip through the URL, are validated, and select the right patients."""
from __future__ import annotations

import pandas as pd
import pytest

from data.analytics.sankey_nodes import node_from_click, node_labels, through_node
from data.analytics.variants import (
    NO_EVENTS,
    OTHER,
    code_for_key,
    journey_variants,
    variant_codes,
    variant_key,
)
from data.cohort_filter import CohortFilter, apply_cohort, parse_query, to_query
from data.cohorts import sankey_flows
from data.journeys import derive_journeys

AS_OF = "2026-09-30"


def _events(rows):
    return pd.DataFrame(rows, columns=["patient_id", "stage", "date", "result", "next_appointment_date"])


PATIENTS = pd.DataFrame({"patient_id": ["a", "b", "c", "d", "e", "f"], "program": "colorectal",
                         "enrollment_date": pd.Timestamp("2025-01-01")})
EVENTS = _events([
    ("a", "screening", "2025-01-11", "positive", None), ("a", "diagnosis", "2025-02-10", "confirmed", None),
    ("a", "treatment", "2025-03-12", None, None), ("a", "follow_up", "2025-06-10", None, None),
    ("b", "screening", "2025-01-21", "positive", None), ("b", "diagnosis", "2025-03-22", "confirmed", None),
    ("b", "treatment", "2025-04-01", None, None), ("b", "follow_up", "2025-05-01", None, None),
    ("c", "screening", "2025-01-05", "negative", None),
    ("d", "screening", "2025-01-05", "positive", None),  # never diagnosed: dropped out
    # e: treatment dated before its diagnosis (bad data): the variant follows the dates
    ("e", "screening", "2025-01-05", "positive", None), ("e", "treatment", "2025-02-01", None, None),
    ("e", "diagnosis", "2025-02-03", "confirmed", None),
])


@pytest.fixture(scope="module")
def journeys():
    return derive_journeys(PATIENTS, EVENTS, AS_OF)


def test_variants_follow_event_dates_and_add_up_to_the_cohort(journeys):
    table = journey_variants(journeys, top=10)
    assert table["patients"].sum() == len(journeys) == table["cohort"].iloc[0]
    by_key = table.set_index("key")
    full = "screening.positive-diagnosis.confirmed-treatment-follow_up"
    assert by_key.loc[full, "patients"] == 2
    assert by_key.loc[full, "completed"] == 2 and by_key.loc[full, "completion_rate"] == 1.0
    # a: 10, 30, 30, 90 days; b: 20, 60, 10, 30 days → medians 15, 45, 20, 60; durations 160, 120
    assert by_key.loc[full, "median_step_days"] == [15, 45, 20, 60]
    assert by_key.loc[full, "median_days"] == 140
    assert by_key.loc["screening.positive-treatment-diagnosis.confirmed", "patients"] == 1
    assert by_key.loc[NO_EVENTS, "patients"] == 1 and by_key.loc[NO_EVENTS, "label"] == "No stage recorded yet"
    assert by_key.loc["screening.positive", "dropped_out"] == 1
    assert by_key.loc["screening.positive", "resolved"] == 1
    assert by_key.loc["screening.negative", "exited"] == 1
    assert table["share"].sum() == pytest.approx(1.0)


def test_the_rest_are_lumped_so_the_rows_still_add_up(journeys):
    table = journey_variants(journeys, top=2)
    assert len(table) == 3 and table["key"].iloc[-1] == OTHER
    assert table["patients"].sum() == len(journeys)
    assert table["patients"].iloc[0] >= table["patients"].iloc[1]


def test_variants_add_up_on_generated_data(small_dataset):
    journeys = derive_journeys(small_dataset.patients, small_dataset.events, small_dataset.as_of)
    table = journey_variants(journeys, top=8)
    assert table["patients"].sum() == len(journeys)
    for column in ("completed", "dropped_out", "in_progress", "exited"):
        assert table[column].sum() == (journeys["status"] == column).sum()


def test_variant_key_round_trips_and_bad_keys_are_refused(journeys):
    for code in set(variant_codes(journeys)):
        assert code_for_key(variant_key(code)) == code
    for bad in ("screening.maybe", "colonoscopy", "screening.positive-screening.positive",
                "screening-diagnosis-treatment-follow_up-treatment", "", None):
        assert code_for_key(bad) is None


def test_variant_in_the_url_round_trips_is_validated_and_applied(journeys):
    query = "?program=colorectal&variant=screening.positive-diagnosis.confirmed-treatment-follow_up"
    cohort = parse_query(query)
    assert cohort.variant == "screening.positive-diagnosis.confirmed-treatment-follow_up"
    assert to_query(cohort) == query
    assert sorted(apply_cohort(journeys, cohort)["patient_id"]) == ["a", "b"]
    # An unknown variant is dropped like any other bad part of a link, not applied as "nobody".
    assert parse_query("?variant=screening.maybe").variant is None
    assert parse_query("?variant=screening.maybe") == CohortFilter()


def test_sankey_node_in_the_url_round_trips_is_validated_and_applied(journeys):
    cohort = parse_query("?node=positive-screen")
    assert cohort.node == "positive-screen" and to_query(cohort) == "?node=positive-screen"
    assert sorted(apply_cohort(journeys, cohort)["patient_id"]) == ["a", "b", "d", "e"]
    assert parse_query("?node=nowhere").node is None
    # The node's patients are exactly its inflow in the Sankey.
    flows = sankey_flows(journeys)
    for slug, label in node_labels().items():
        selected = through_node(journeys, slug).sum()
        inflow = flows.loc[flows["target"] == label, "patients"].sum()
        assert selected == (len(journeys) if label == "Enrolled" else inflow), label


def test_a_sankey_click_names_a_node_and_ignores_links():
    assert node_from_click({"customdata": "Positive screen", "label": "Positive screen · 4"}) == "positive-screen"
    assert node_from_click({"label": "Screened · 5"}) == "screened"
    assert node_from_click({"source": {}, "target": {}, "label": ""}) is None
    assert node_from_click({"customdata": "Elsewhere"}) is None
    assert node_from_click(None) is None


def test_a_dataset_with_its_own_two_stage_pathway_gets_variants_and_curves(tmp_path):
    from data.analytics.time_to_next_stage import (
        EVENTS,
        follow_up_frame,
        time_to_next_stage,
    )
    from data.io import read_dataset
    from data.journeys import derive_decision_points
    from tests.two_stage import write_two_stage_folder

    write_two_stage_folder(tmp_path)
    dataset = read_dataset(tmp_path)
    pathway, patients, events, as_of = dataset.pathway, dataset.patients, dataset.events, dataset.as_of
    journeys = derive_journeys(patients, events, as_of, pathway)
    table = journey_variants(journeys, pathway)
    assert table["patients"].sum() == len(journeys)
    assert set(table["key"]) <= {NO_EVENTS, "referral", "referral-visit", "visit", "visit-referral", OTHER}
    points = derive_decision_points(patients, events, as_of, pathway)
    follow_up = follow_up_frame(points, journeys, as_of, pathway)
    assert len(follow_up) == len(points) and set(follow_up["event"]) <= {0, *EVENTS}
    assert (follow_up["event"] != 2).all()  # nothing ends the pathway at the visit
    estimate = time_to_next_stage(follow_up)
    assert estimate.table["at_risk"].iloc[0] == len(follow_up)
