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
