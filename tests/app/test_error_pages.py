"""The styled "page not found" and "link too long" pages."""
import dash

from app.error_pages import MAX_QUERY_CHARS, NOT_FOUND_PATH, not_found_layout
from components.layout import NAV_PAGES
from tests.conftest import admin_test_client


def test_an_over_long_query_gets_the_styled_414_page(dash_app):
    client = dash_app.server.test_client()
    query = "program=" + "x" * MAX_QUERY_CHARS
    response = client.get("/pathways?" + query)
    assert response.status_code == 414
    page = response.get_data(as_text=True)
    assert "Link too long" in page and "/assets/carepath.css" in page
    assert 'href="/pathways"' in page  # the same page without its filters


def test_queries_up_to_the_limit_are_served(dash_app, app_data):
    client = admin_test_client(dash_app)  # signed in: the page itself, not the sign-in redirect
    assert client.get("/?" + "a" * MAX_QUERY_CHARS).status_code == 200
    # Every filter value of the data selected at once stays well below the limit.
    from data.cohort_filter import CHOICE_FIELDS, CohortFilter, to_query

    every = {f.attribute: tuple(f.allowed or ()) for f in CHOICE_FIELDS}
    every.update(sites=tuple(app_data.sites), programs=tuple(app_data.dataset.pathway.program_names))
    assert len(to_query(CohortFilter(**every))) < MAX_QUERY_CHARS / 2


def test_the_not_found_page_is_registered_and_links_every_page(dash_app):
    not_found = [page for module, page in dash.page_registry.items() if module.endswith("not_found_404")]
    assert len(not_found) == 1 and not_found[0]["path"] == NOT_FOUND_PATH
    text = str(not_found_layout())
    assert "Page not found" in text
    for path, _ in NAV_PAGES:
        assert f"href='{path}'" in text or f'href="{path}"' in text

