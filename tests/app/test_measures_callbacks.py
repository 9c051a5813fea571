"""Quality page callbacks called directly: the measure follows the cohort filter, shows each
rate with its numerator and denominator, and lists the numerator gap's patients as links."""
from __future__ import annotations

from callbacks import context
from callbacks.measures import measure_options, quality_view
from data.measures import measure_result
from tests.app.component_text import component_text


def _expected(query: str):
    program, measure = context.pathway().measures[0]
    return measure_result(context.cohort_frame(query), program, measure, context.current().dataset.as_of)


def test_the_colorectal_measure_is_offered_and_shown_with_numerator_and_denominator(app_data):
    options = measure_options()
    assert [o["value"] for o in options] == ["colorectal/follow_up_colonoscopy"]
    view = quality_view("", options[0]["value"])
    overall = _expected("").overall.iloc[0]
    assert overall["denominator"] > 0
    text = component_text(view.summary)
    assert f"({overall['numerator']:,} / {overall['denominator']:,})" in text
    assert "Wilson" in text
    assert view.message is None
    assert "180" in component_text(view.definition)


def test_the_cohort_filter_applies(app_data):
    site = app_data.sites[0]
    view = quality_view(f"?site={site}", None)
    overall = _expected(f"?site={site}").overall.iloc[0]
    assert f"({overall['numerator']:,} / {overall['denominator']:,})" in component_text(view.summary)
    assert overall["denominator"] < _expected("").overall.iloc[0]["denominator"]


def test_a_cohort_without_the_measure_program_says_so(app_data):
    view = quality_view("?program=diabetes", None)
    assert "denominator" in component_text(view.message)


def test_gap_patients_are_links_to_their_patient_pages(app_data):
    result = _expected("?program=colorectal")
    view = quality_view("?program=colorectal", None)
    links = [c for c in view.gap.children[1].children if getattr(c, "href", None)]
    assert links and links[0].href == f"/patient?id={result.gap_patient_ids[0]}&program=colorectal"
    assert f"{len(result.gap_patient_ids):,} patients in the numerator gap" in component_text(view.gap)


def test_the_cohorts_result_is_the_measure_evaluated_on_the_cohorts_rows(app_data, monkeypatch):
    """The page takes the cohort's patients' rows of the whole population's evaluation (made once
    per measure): every table, the gap list included, equals evaluating the cohort's own rows,
    for a filter, a Sankey node, a journey variant and an empty cohort."""
    import pandas as pd

    from callbacks import measures
    from data.measures import result_of

    program, measure = context.pathway().measures[0]
    seen = []
    monkeypatch.setattr(measures, "result_of", lambda evaluated, *args: seen.append(result_of(evaluated, *args))
                        or seen[-1])
    value = measure_options()[0]["value"]
    for query in ("", "?program=colorectal&sex=F", "?node=awaiting-treatment", "?age=40-60&payer=Medicaid"):
        quality_view(query, value)
        got, expected = seen[-1], _expected(query)
        # An empty evaluation keeps the population's column types (text), where one of no rows has none.
        pd.testing.assert_frame_equal(got.evaluated, expected.evaluated, check_dtype=len(got.evaluated) > 0,
                                      obj=f"evaluated {query}")
        for table in ("overall", "by_site", "by_month"):
            pd.testing.assert_frame_equal(getattr(got, table), getattr(expected, table), obj=f"{table} {query}")
        assert got.gap_patient_ids == expected.gap_patient_ids
        assert query != "?program=colorectal&sex=F" or 0 < len(got.evaluated) < len(seen[0].evaluated)
