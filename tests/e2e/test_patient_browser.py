"""Patient page in a real browser: opens by ?id= (with cohort filters in the URL),
shows risk, drivers and timeline, and says so when an id is unknown."""
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.keys import Keys

from callbacks.patient import NOT_FOUND
from components import ids

pytestmark = pytest.mark.e2e


def _open(dash_duo, dash_app, query):
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element(f"#{ids.NAV_LINKS['/patient']}")
    dash_duo.driver.get(dash_duo.server_url + "/patient" + query)


def test_patient_page_loads_by_id(dash_duo, dash_app, app_data):
    top = app_data.risk_scores.iloc[0]
    _open(dash_duo, dash_app, f"?id={top['patient_id']}&program={top['program']}")
    dash_duo.wait_for_contains_text(f"#{ids.PATIENT_HEADER}", top["patient_id"], timeout=20)
    dash_duo.wait_for_contains_text(f"#{ids.PATIENT_RISK}", f"{top['risk']:.1%}", timeout=10)
    assert f"{top['risk_tier']} risk" in dash_duo.find_element(f"#{ids.PATIENT_RISK}").text
    assert top["drivers"][0]["text"] in dash_duo.find_element(f"#{ids.PATIENT_DRIVERS_LIST}").text
    dash_duo.wait_for_element(f"#{ids.PATIENT_DRIVERS_GRAPH} .js-plotly-plot")
    timeline = dash_duo.wait_for_element(f"#{ids.PATIENT_TIMELINE_GRAPH} .js-plotly-plot")
    assert timeline.size["height"] > 100  # drawn while its section was hidden, it must still get its height
    assert "Area deprivation index" in dash_duo.find_element(f"#{ids.PATIENT_ATTRIBUTES}").text
    query = parse_qs(urlparse(dash_duo.driver.current_url).query)
    assert query["id"] == [top["patient_id"]] and query["program"] == [top["program"]]
    assert dash_duo.get_logs() == []


def test_search_box_opens_a_patient_and_reports_unknown_ids(dash_duo, dash_app, app_data):
    top = app_data.risk_scores.iloc[0]
    _open(dash_duo, dash_app, "")
    search = dash_duo.wait_for_element(f"#{ids.PATIENT_SEARCH}")
    search.send_keys("P9999999", Keys.ENTER)
    dash_duo.wait_for_text_to_equal(f"#{ids.PATIENT_MESSAGE}", NOT_FOUND.format(patient_id="P9999999"), timeout=15)
    assert not dash_duo.find_element(f"#{ids.PATIENT_DETAILS}").is_displayed()
    dash_duo.clear_input(search)
    search.send_keys(top["patient_id"].lower(), Keys.ENTER)
    dash_duo.wait_for_contains_text(f"#{ids.PATIENT_HEADER}", top["patient_id"], timeout=15)
    assert dash_duo.find_element(f"#{ids.PATIENT_MESSAGE}").text == ""
    assert dash_duo.get_logs() == []
