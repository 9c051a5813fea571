"""Overview page in a real browser: loads cleanly, reacts to the program filter,
and restores its filters from the URL."""
from urllib.parse import urlparse

import pytest

from data.cohort_filter import apply_cohort, parse_query
from components import ids
from data.cohorts import funnel_counts

pytestmark = pytest.mark.e2e

FIRST_FUNNEL_BAR = f"""
const graph = document.querySelector('#{ids.FUNNEL_GRAPH} .js-plotly-plot');
return graph && graph.data && graph.data.length ? graph.data[0].x[0] : null;
"""


def _expected_funnel(app_data, query):
    return funnel_counts(apply_cohort(app_data.cohort_frame, parse_query(query)))


def _wait_for_kpi_patients(dash_duo, count):
    dash_duo.wait_for_text_to_equal(f"#{ids.KPI_PATIENTS}", f"{count:,}", timeout=15)


def _wait_for_first_funnel_bar(dash_duo, count):
    from dash.testing.wait import until

    until(lambda: dash_duo.driver.execute_script(FIRST_FUNNEL_BAR) == count, timeout=15)


def _funnel_table_counts(dash_duo):
    rows = dash_duo.find_elements(f"#{ids.FUNNEL_TABLE} tbody tr")
    return [int(row.find_elements("css selector", "td")[1].text.replace(",", "")) for row in rows]


def test_overview_loads_without_errors(dash_duo, dash_app, app_data):
    dash_duo.start_server(dash_app)
    everyone = _expected_funnel(app_data, "")
    _wait_for_kpi_patients(dash_duo, len(app_data.cohort_frame))
    _wait_for_first_funnel_bar(dash_duo, len(app_data.cohort_frame))
    dash_duo.wait_for_element(f"#{ids.FUNNEL_TABLE} tbody tr")
    assert _funnel_table_counts(dash_duo) == list(everyone["patients"])
    high = int((app_data.cohort_frame["risk_tier"] == "High").sum())
    assert dash_duo.find_element(f"#{ids.KPI_HIGH_RISK}").text == f"{high:,}"
    assert dash_duo.find_element(f"#{ids.NAV_LINKS['/scenarios']}").text == "Scenarios"
    dash_duo.wait_for_element(f"#{ids.TREND_GRAPH} .js-plotly-plot")
    assert dash_duo.get_logs() == []


def test_program_filter_updates_numbers_and_url(dash_duo, dash_app, app_data):
    dash_duo.start_server(dash_app)
    _wait_for_kpi_patients(dash_duo, len(app_data.cohort_frame))

    dash_duo.select_dcc_dropdown(f"#{ids.FILTER_PROGRAM}", "Diabetes")
    diabetes = _expected_funnel(app_data, "?program=diabetes")
    _wait_for_kpi_patients(dash_duo, int(diabetes["patients"][0]))
    _wait_for_first_funnel_bar(dash_duo, int(diabetes["patients"][0]))
    dash_duo.wait_for_text_to_equal(f"#{ids.FUNNEL_TABLE} tbody tr:last-child td:nth-child(2)",
                                    f"{int(diabetes['patients'].iloc[-1]):,}")
    assert _funnel_table_counts(dash_duo) == list(diabetes["patients"])
    assert urlparse(dash_duo.driver.current_url).query == "program=diabetes"

    # Navigating keeps the cohort in the URL.
    dash_duo.find_element(f"#{ids.NAV_LINKS['/pathways']}").click()
    dash_duo.wait_for_contains_text("#_pages_content", "Pathways")
    assert urlparse(dash_duo.driver.current_url).path == "/pathways"
    assert urlparse(dash_duo.driver.current_url).query == "program=diabetes"
    assert dash_duo.get_logs() == []


def test_url_restores_filters(dash_duo, dash_app, app_data):
    dash_duo.start_server(dash_app)
    query = "?program=colorectal&sex=F&age=40-65"
    expected = _expected_funnel(app_data, query)
    dash_duo.wait_for_element(f"#{ids.KPI_PATIENTS}")

    dash_duo.driver.get(dash_duo.server_url + "/" + query)
    _wait_for_kpi_patients(dash_duo, int(expected["patients"][0]))
    _wait_for_first_funnel_bar(dash_duo, int(expected["patients"][0]))
    dash_duo.wait_for_contains_text(f"#{ids.FILTER_PROGRAM}", "Colorectal cancer screening")
    dash_duo.wait_for_contains_text(f"#{ids.FILTER_SEX}", "Female")

    # A reload (or a shared link) shows the same cohort, and the URL stays canonical.
    dash_duo.driver.refresh()
    _wait_for_kpi_patients(dash_duo, int(expected["patients"][0]))
    assert urlparse(dash_duo.driver.current_url).query == query.lstrip("?")

    dash_duo.find_element(f"#{ids.FILTER_RESET}").click()
    _wait_for_kpi_patients(dash_duo, len(app_data.cohort_frame))
    assert urlparse(dash_duo.driver.current_url).query == ""
    assert dash_duo.get_logs() == []


def test_a_link_with_invalid_parameters_names_them_in_a_notice(dash_duo, dash_app, app_data):
    """`?program=xyz&age=abc` used to be dropped without a word."""
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element(f"#{ids.NAV_LINKS['/']}")
    dash_duo.driver.get(dash_duo.server_url + "/?program=xyz&age=abc&program=diabetes")
    dash_duo.wait_for_contains_text(f"#{ids.URL_NOTICE}", "program=xyz", timeout=15)
    notice = dash_duo.find_element(f"#{ids.URL_NOTICE}").text
    assert "age=abc" in notice and "program=diabetes" not in notice
    assert dash_duo.get_logs() == []


def test_an_unknown_page_gets_the_styled_not_found_page_in_the_shell(dash_duo, dash_app):
    """It used to be a bare "404 - Page not found" heading."""
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element(f"#{ids.NAV_LINKS['/']}")
    dash_duo.driver.get(dash_duo.server_url + "/no-such-page?program=diabetes")
    dash_duo.wait_for_contains_text(".page-title", "Page not found", timeout=15)
    assert dash_duo.find_element(f"#{ids.NAV_LINKS['/pathways']}")  # the app's navbar is still there
    assert len(dash_duo.find_elements(".not-found-links a")) >= 6
    assert dash_duo.get_logs() == []


def test_how_these_numbers_relate_opens_with_the_counts(dash_duo, dash_app, app_data):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1440, 900)
    dash_duo.wait_for_element(f"#{ids.RECONCILE_BUTTON}")
    dash_duo.wait_for_contains_text(f"#{ids.KPI_COMPLETION_RATE}", " of ", timeout=15)
    dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element(f"#{ids.RECONCILE_BUTTON}"))
    dash_duo.wait_for_contains_text(f"#{ids.RECONCILE_BODY}", "Adherence (not lost to follow-up)", timeout=20)
    assert "Completion rate" in dash_duo.find_element(f"#{ids.RECONCILE_BODY}").text
    assert dash_duo.get_logs() == []
