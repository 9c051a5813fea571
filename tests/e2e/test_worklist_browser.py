"""Worklist page in a real browser: rows ranked by expected gain load cleanly, a patient link
opens that patient's page, and the CSV holds exactly the rows the grid shows (sorted or
filtered in the grid, and past a thousand rows for a coordinator on a busier served app)."""
import csv
import time
from urllib.parse import parse_qs, urlparse

import pytest

from callbacks import context
from callbacks.worklist import DEFAULT_CAPACITY
from components import ids

pytestmark = pytest.mark.e2e

GRID = f"#{ids.WORKLIST_GRID}"


def _expected_ids(app_data, query="", sort=None):
    """The cohort's scored patients in the Worklist's order (its default: expected gain),
    without those already called today (other tests may have logged calls in this session)."""
    from callbacks.outreach import attempted_today, latest_calls
    from callbacks.worklist import ranked, sort_choice

    cohort = set(context.cohort_frame(query)["patient_id"]) - attempted_today(latest_calls())
    scores = app_data.risk_scores
    return list(ranked(scores[scores["patient_id"].isin(cohort)], sort_choice(sort))["patient_id"])


def _open_worklist(dash_duo, dash_app, query=""):
    dash_duo.start_server(dash_app)
    # A desktop window: at the default small size the sticky filter panel covers the grid.
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.wait_for_element(f"#{ids.NAV_LINKS['/worklist']}")
    dash_duo.driver.get(dash_duo.server_url + "/worklist" + query)


def _cell(row_index: int, column: str) -> str:
    return f"{GRID} .ag-center-cols-container .ag-row[row-index='{row_index}'] .ag-cell[col-id='{column}']"


# The rows the grid displays, after its filters and sort, from the grid itself (the DOM
# holds only the rows scrolled into view).
SHOWN_ROWS = f"""
const ids = [];
dash_ag_grid.getApi('{ids.WORKLIST_GRID}').forEachNodeAfterFilterAndSort(node => ids.push(node.data.patient_id));
return ids;
"""


def _shown_patient_ids(dash_duo) -> list[str]:
    return dash_duo.driver.execute_script(SHOWN_ROWS)


def test_worklist_loads_ranked_rows(dash_duo, dash_app, app_data):
    expected = _expected_ids(app_data)
    shown = min(DEFAULT_CAPACITY, len(expected))
    _open_worklist(dash_duo, dash_app)
    dash_duo.wait_for_text_to_equal(_cell(0, "patient_link"), expected[0], timeout=20)
    dash_duo.wait_for_text_to_equal(_cell(0, "rank"), "1")
    summary = dash_duo.find_element(f"#{ids.WORKLIST_SUMMARY}").text
    assert (f"Top {shown} of {len(expected)} active patients" in summary if shown < len(expected)
            else f"All {len(expected)} active patients" in summary)
    assert "expected dropouts" in summary
    assert dash_duo.find_element(_cell(0, "risk_tier")).text in ("High", "Medium", "Low")
    assert dash_duo.find_element(_cell(0, "risk")).text.endswith("%")
    assert dash_duo.get_logs() == []


def test_patient_link_opens_that_patients_page(dash_duo, dash_app, app_data):
    expected = _expected_ids(app_data, "?program=diabetes")
    _open_worklist(dash_duo, dash_app, "?program=diabetes")
    dash_duo.wait_for_text_to_equal(_cell(0, "patient_link"), expected[0], timeout=20)
    dash_duo.find_element(_cell(0, "patient_link") + " a").click()
    dash_duo.wait_for_contains_text(f"#{ids.PATIENT_HEADER}", expected[0], timeout=20)
    assert dash_duo.find_element(f"#{ids.PATIENT_SEARCH}").get_attribute("value") == expected[0]
    dash_duo.wait_for_element(f"#{ids.PATIENT_DRIVERS_GRAPH} .js-plotly-plot")
    url = urlparse(dash_duo.driver.current_url)
    assert url.path == "/patient"
    # The cohort filter came along, and the id stays in the address once the filter panel rewrites it.
    from dash.testing.wait import until

    until(lambda: parse_qs(urlparse(dash_duo.driver.current_url).query).get("program") == ["diabetes"], timeout=10)
    assert parse_qs(urlparse(dash_duo.driver.current_url).query)["id"] == [expected[0]]
    assert dash_duo.get_logs() == []


def _wait_for_download(folder, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = [p for p in folder.iterdir() if p.suffix == ".csv"]
        if done and not any(p.suffix == ".crdownload" for p in folder.iterdir()):
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no CSV downloaded to {folder}")


def test_export_returns_the_rows_shown(dash_duo, dash_app, app_data, tmp_path):
    expected = _expected_ids(app_data)
    _open_worklist(dash_duo, dash_app)
    dash_duo.driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    dash_duo.wait_for_text_to_equal(_cell(0, "patient_link"), expected[0], timeout=20)
    dash_duo.select_dcc_dropdown(f"#{ids.WORKLIST_CAPACITY}", "10")
    dash_duo.wait_for_contains_text(f"#{ids.WORKLIST_SUMMARY}", f"Top {min(10, len(expected))} ", timeout=15)
    # Re-sort in the grid (fewest days waiting first): the CSV must follow what is shown.
    dash_duo.find_element(f"{GRID} .ag-header-cell[col-id='waited_days'] .ag-header-cell-label").click()
    dash_duo.wait_for_text_to_equal(_cell(0, "rank"), str(_rank_of_shortest_wait(app_data, expected[:10])),
                                    timeout=10)
    shown = _shown_patient_ids(dash_duo)
    assert sorted(shown) == sorted(expected[:10]) and shown != expected[:10]

    dash_duo.find_element(f"#{ids.WORKLIST_EXPORT_BUTTON}").click()
    with _wait_for_download(tmp_path).open(newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert [row["Patient"] for row in exported] == shown
    assert exported[0]["#"] == dash_duo.find_element(_cell(0, "rank")).text
    assert dash_duo.get_logs() == []


def _rank_of_shortest_wait(app_data, top_ids):
    waited = app_data.risk_scores.set_index("patient_id").loc[top_ids, "waited_days"].to_numpy()
    return int(waited.argmin()) + 1  # AG Grid's sort is stable: the first of equal waits stays first


def test_ranking_and_capacity_live_in_the_url_beside_the_cohort(dash_duo, dash_app, app_data):
    _open_worklist(dash_duo, dash_app, "?program=diabetes&n=10&sort=deadline")
    dash_duo.wait_for_contains_text(f"#{ids.WORKLIST_SUMMARY}", "by window closing soonest", timeout=15)
    dash_duo.wait_for_contains_text(f"#{ids.WORKLIST_SUMMARY}", "Top 10 ", timeout=15)
    # A filter change rewrites the cohort part of the URL and keeps the Worklist's own keys.
    dash_duo.select_dcc_dropdown(f"#{ids.FILTER_PROGRAM}", "Depression")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(dash_duo.driver, 10).until(lambda driver: "program=depression" in driver.current_url)
    url = dash_duo.driver.current_url
    assert "n=10" in url and "sort=deadline" in url, url
    assert dash_duo.get_logs() == []


def test_a_call_logged_on_the_worklist_is_there_after_a_reload(dash_duo, dash_app, app_data):
    from selenium.webdriver.common.by import By

    _open_worklist(dash_duo, dash_app, "?n=all&sort=risk")
    expected = _expected_ids(app_data, sort="risk")
    dash_duo.wait_for_text_to_equal(_cell(0, "patient_link"), expected[0], timeout=20)
    patient = _shown_patient_ids(dash_duo)[3]
    dash_duo.driver.execute_script(
        f"dash_ag_grid.getApi('{ids.WORKLIST_GRID}').getRowNode('{patient}').setSelected(true);")
    dash_duo.wait_for_contains_text(f"#{ids.OUTREACH_PATIENT}", patient, timeout=10)

    def click(element):
        # The form sits in the page's scrolling column: a real click can land on the sticky
        # panel, so the element is clicked the way the browser's own click handler would be.
        dash_duo.driver.execute_script("arguments[0].click();", element)

    dash_duo.find_element(f"#{ids.OUTREACH_COORDINATOR}").send_keys("Ana")
    click(dash_duo.driver.find_element(By.XPATH, f"//*[@id='{ids.OUTREACH_DISPOSITION}']//label[text()='Left a message']/preceding-sibling::input"))
    dash_duo.find_element(f"#{ids.OUTREACH_NOTE}").send_keys("voicemail; try mornings")
    click(dash_duo.find_element(f"#{ids.OUTREACH_SAVE}"))
    dash_duo.wait_for_contains_text(f"#{ids.OUTREACH_FEEDBACK}", f"Saved: {patient}", timeout=10)

    dash_duo.driver.refresh()  # the call is in the database, not in the page
    dash_duo.wait_for_text_to_equal(_cell(0, "patient_link"), expected[0] if expected[0] != patient else expected[1],
                                    timeout=20)
    assert patient not in _shown_patient_ids(dash_duo)  # called today: out of today's list
    click(dash_duo.find_element(f"#{ids.WORKLIST_SHOW_CALLED}"))
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(dash_duo.driver, 10).until(lambda driver: patient in _shown_patient_ids(dash_duo))
    last_call = dash_duo.driver.execute_script(
        f"return dash_ag_grid.getApi('{ids.WORKLIST_GRID}').getRowNode('{patient}').data.last_call;")
    assert last_call.endswith("Left a message"), last_call
    assert "Coordinator: Ana" in dash_duo.find_element(f"#{ids.TEAM_SUMMARY_GRID}").text
    assert dash_duo.get_logs() == []


def test_export_follows_a_grid_filter(dash_duo, dash_app, app_data, tmp_path):
    _open_worklist(dash_duo, dash_app, "?n=all&sort=risk")
    dash_duo.driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    expected = _expected_ids(app_data, sort="risk")
    dash_duo.wait_for_text_to_equal(_cell(0, "patient_link"), expected[0], timeout=20)
    tier = dash_duo.find_element(_cell(0, "risk_tier")).text
    dash_duo.driver.execute_script(
        f"dash_ag_grid.getApi('{ids.WORKLIST_GRID}').setFilterModel("
        f"{{risk_tier: {{filterType: 'text', type: 'notEqual', filter: '{tier}'}}}});")
    from dash.testing.wait import until

    until(lambda: 0 < len(_shown_patient_ids(dash_duo)) < len(expected), timeout=10)
    shown = _shown_patient_ids(dash_duo)
    dash_duo.find_element(f"#{ids.WORKLIST_EXPORT_BUTTON}").click()
    with _wait_for_download(tmp_path).open(newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert [row["Patient"] for row in exported] == shown
    assert tier not in {row["Tier"] for row in exported}
    assert dash_duo.get_logs() == []


def test_a_coordinators_export_of_over_1000_rows_downloads(dash_duo, busy_app, tmp_path):
    """Past ~850 rows the old export's request (the rows as State) was over the 1 MB limit."""
    from dash.testing.wait import until

    from tests.busy_server import COORDINATOR, PASSWORD
    from tests.e2e.conftest import sign_in

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    base, _token = busy_app
    driver = dash_duo.driver
    driver.set_window_size(1400, 1000)
    sign_in(dash_duo, base, COORDINATOR, PASSWORD)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.get(base + "/worklist?n=all&sort=risk")

    def rows_shown() -> int:
        try:
            return len(driver.execute_script(SHOWN_ROWS) or [])
        except Exception:  # noqa: BLE001 - the grid is not on the page yet
            return 0

    until(lambda: rows_shown() > 1_000, timeout=120)
    shown = _shown_patient_ids(dash_duo)
    dash_duo.find_element(f"#{ids.WORKLIST_EXPORT_BUTTON}").click()
    with _wait_for_download(downloads, timeout=120).open(newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert len(exported) > 1_000
    assert [row["Patient"] for row in exported] == shown
    assert dash_duo.get_logs() == []
