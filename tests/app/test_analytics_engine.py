"""The Overview and Pathways callbacks show the same thing whichever engine computes their
numbers (CAREPATH_ANALYTICS_ENGINE: DuckDB by default, the pandas reference), for a user who
sees exact counts and for one who sees small counts suppressed."""
from __future__ import annotations

import json

from plotly.utils import PlotlyJSONEncoder
import pytest

from callbacks.access_scope import Principal

ANALYST = Principal("t-analyst", "analyst", ())  # small counts suppressed
COORDINATOR = Principal("t-coordinator-all", "coordinator", None)  # exact counts
QUERIES = ("", "?program=diabetes&payer=Medicaid", "?risk=high&risk=medium", "?sex=F&age=70-90&region=rural",
           "?site=nowhere")


def _rendered(outputs) -> str:
    """The callback outputs as the browser receives them (figures and components as JSON)."""
    return json.dumps(outputs, cls=PlotlyJSONEncoder, sort_keys=True)


def _pages(query: str) -> dict:
    from callbacks import overview, pathways

    return {"overview": _rendered(overview.update_overview(query)),
            "pathways": _rendered(pathways.update_pathways(query))}


@pytest.mark.parametrize("query", QUERIES)
def test_pages_are_the_same_on_duckdb_and_on_the_pandas_reference(app_data, as_user, monkeypatch, query):
    from callbacks import analytics
    from tests.app.test_access_suppression import small_cohort

    queries = (query, small_cohort(app_data)) if query == "" else (query,)
    for cohort_query in queries:
        for user in (COORDINATOR, ANALYST):
            monkeypatch.setenv("CAREPATH_ANALYTICS_ENGINE", "duckdb")
            with as_user(user):
                on_duckdb = _pages(cohort_query)
                assert analytics.engine().name == "duckdb"
            monkeypatch.setenv("CAREPATH_ANALYTICS_ENGINE", "pandas")
            with as_user(user):
                on_pandas = _pages(cohort_query)
                assert analytics.engine().name == "pandas"
            assert on_duckdb == on_pandas, (cohort_query, user.role)


@pytest.mark.parametrize("query", QUERIES)
def test_worklist_is_the_same_on_duckdb_and_on_the_pandas_reference(app_data, as_user, monkeypatch, query):
    """The Worklist's rows (filtered, ranked and cut to capacity by the engine) and what it
    audits are the same on both engines, for every ranking, and a coordinator of one site
    gets only that site's patients on the engine path."""
    from callbacks import worklist
    from callbacks.worklist import ALL, SORTS

    site = sorted(app_data.sites)[0]
    one_site = Principal("t-coordinator-one", "coordinator", (site,))
    site_of = dict(zip(app_data.cohort_frame["patient_id"], app_data.cohort_frame["site"]))
    for user in (COORDINATOR, one_site):
        for sort in SORTS:
            shown = {}
            for engine in ("duckdb", "pandas"):
                monkeypatch.setenv("CAREPATH_ANALYTICS_ENGINE", engine)
                with as_user(user):
                    shown[engine] = _rendered(worklist.update_worklist(query, ALL, sort))
                    rows = worklist.worklist_view(query, ALL, sort).rows
                if user is one_site:
                    assert {site_of[row["patient_id"]] for row in rows} <= {site}, (engine, sort)
            assert shown["duckdb"] == shown["pandas"], (query, user.username, sort)


@pytest.mark.parametrize("query", QUERIES)
def test_journeys_page_is_the_same_on_duckdb_and_on_the_pandas_reference(app_data, as_user, monkeypatch, query):
    """The variants table (counted by the engine) and the rest of the Journeys page are the same on both engines."""
    from callbacks import journeys

    stage = app_data.dataset.pathway.decision_stages[0]
    for user in (COORDINATOR, ANALYST):
        shown = {}
        for engine in ("duckdb", "pandas"):
            monkeypatch.setenv("CAREPATH_ANALYTICS_ENGINE", engine)
            with as_user(user):
                shown[engine] = _rendered(journeys.update_journeys(query, stage, "", []))
        assert shown["duckdb"] == shown["pandas"], (query, user.role)
