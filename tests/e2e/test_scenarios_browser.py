"""Scenarios page in a real browser: the projection loads cleanly, a preset moves the sliders
and the projection, and the ground-truth check fills in on demand, showing its progress."""
import re

import pytest
from dash.testing.wait import until
from selenium.webdriver.common.keys import Keys

from components import ids
from ml.scenarios.levers import PRESET_LABELS

pytestmark = pytest.mark.e2e

OUTREACH_LABEL = PRESET_LABELS["navigator_outreach"]


def _open_scenarios(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    # A desktop window: at the default small size the sticky filter panel covers the levers.
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.wait_for_element(f"#{ids.NAV_LINKS['/scenarios']}")
    dash_duo.driver.get(dash_duo.server_url + "/scenarios")


def _click_preset(dash_duo, label: str):
    button = dash_duo.driver.find_element(
        "xpath", f"//button[contains(@class, 'scenario-preset') and normalize-space(.)='{label}']")
    # A script click: the button may sit under the sticky filter panel in a narrow window.
    dash_duo.driver.execute_script("arguments[0].click();", button)


def test_scenarios_page_projects_presets_and_checks_truth(dash_duo, dash_app, app_data):
    _open_scenarios(dash_duo, dash_app)
    summary = f"#{ids.SCENARIO_SUMMARY}"
    dash_duo.wait_for_contains_text(summary, "positive screen", timeout=20)
    assert "+0.0 patients not lost" in dash_duo.find_element(summary).text
    dash_duo.wait_for_element(f"#{ids.SCENARIO_FUNNEL_GRAPH} .js-plotly-plot")

    _click_preset(dash_duo, OUTREACH_LABEL)
    until(lambda: "+0.0 patients" not in dash_duo.find_element(summary).text, timeout=15)
    assert "of outreach per extra patient" in dash_duo.find_element(summary).text
    # The preset moved the outreach sliders (the slider's handle reports its value).
    handle = dash_duo.find_element(f"#{ids.SCENARIO_OUTREACH_TOP} [role='slider']")
    assert handle.get_attribute("aria-valuenow") == "20"

    dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element(f"#{ids.SCENARIO_TRUTH_BUTTON}"))
    dash_duo.wait_for_contains_text(f"#{ids.SCENARIO_TRUTH}", "Ground truth", timeout=30)
    assert dash_duo.get_logs() == []


def test_moving_a_wait_cut_slider_updates_the_projection(dash_duo, dash_app, app_data):
    _open_scenarios(dash_duo, dash_app)
    summary = f"#{ids.SCENARIO_SUMMARY}"
    dash_duo.wait_for_contains_text(summary, "+0.0 patients not lost", timeout=20)
    handle = dash_duo.find_element(f"#{ids.SCENARIO_WAIT_CUT['diagnosis']} [role='slider']")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", handle)
    for _ in range(6):  # six 5 % steps: cut the diagnosis wait by 30 %
        handle.send_keys(Keys.ARROW_RIGHT)
    until(lambda: handle.get_attribute("aria-valuenow") == "30", timeout=10)
    until(lambda: "+0.0 patients" not in dash_duo.find_element(summary).text, timeout=15)
    assert "patients not lost" in dash_duo.find_element(summary).text
    assert dash_duo.get_logs() == []


def test_a_typed_lever_value_applies_on_enter(dash_duo, dash_app, app_data):
    """The slider's number box used to apply a typed value only when it lost focus."""
    _open_scenarios(dash_duo, dash_app)
    summary = f"#{ids.SCENARIO_SUMMARY}"
    dash_duo.wait_for_contains_text(summary, "+0.0 patients not lost", timeout=20)
    box = dash_duo.find_element(f"#{ids.SCENARIO_WAIT_CUT['diagnosis']} input")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", box)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("30")
    box.send_keys(Keys.ENTER)
    until(lambda: "+0.0 patients" not in dash_duo.find_element(summary).text, timeout=15)
    handle = dash_duo.find_element(f"#{ids.SCENARIO_WAIT_CUT['diagnosis']} [role='slider']")
    assert handle.get_attribute("aria-valuenow") == "30"
    # Still typing in the same box: Enter did not move the focus away for good.
    assert dash_duo.driver.execute_script("return document.activeElement") == box
    assert dash_duo.get_logs() == []


# Everything the truth check's progress area shows while it runs (a MutationObserver notes
# each change: the job may finish between two polls, so the last state alone proves nothing).
WATCH_TRUTH_PROGRESS = f"""
window.truthProgressSeen = [];
const running = document.getElementById('{ids.SCENARIO_TRUTH_RUNNING}');
const note = () => window.truthProgressSeen.push({{
    hidden: running.hidden,
    label: document.getElementById('{ids.SCENARIO_TRUTH_PROGRESS}').innerText,
    cancel: !!document.getElementById('{ids.SCENARIO_TRUTH_CANCEL}'),
}});
new MutationObserver(note).observe(running, {{attributes: true, childList: true, subtree: true,
                                              characterData: true}});
"""


def test_truth_check_shows_its_progress_then_the_result(dash_duo, busy_app):
    """On the busier served app (18,000 patients), where each re-simulation takes long enough
    for the page's polls to see the count go up; the session's small app finishes in one poll."""
    from tests.busy_server import COORDINATOR, PASSWORD
    from tests.e2e.conftest import sign_in

    base, _token = busy_app
    dash_duo.driver.set_window_size(1400, 1000)
    sign_in(dash_duo, base, COORDINATOR, PASSWORD)
    dash_duo.driver.get(base + "/scenarios")
    dash_duo.wait_for_contains_text(f"#{ids.SCENARIO_SUMMARY}", "positive screen", timeout=20)
    _click_preset(dash_duo, OUTREACH_LABEL)  # outreach: the check re-simulates many call draws
    until(lambda: "+0.0 patients" not in dash_duo.find_element(f"#{ids.SCENARIO_SUMMARY}").text, timeout=15)
    dash_duo.wait_for_contains_text(f"#{ids.SCENARIO_TRUTH}", "Press the button", timeout=10)
    assert dash_duo.find_element(f"#{ids.SCENARIO_TRUTH_RUNNING}").get_attribute("hidden") is not None

    dash_duo.driver.execute_script(WATCH_TRUTH_PROGRESS)
    dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element(f"#{ids.SCENARIO_TRUTH_BUTTON}"))
    dash_duo.wait_for_contains_text(f"#{ids.SCENARIO_TRUTH}", "Ground truth", timeout=60)
    seen = dash_duo.driver.execute_script("return window.truthProgressSeen;")
    shown = [entry for entry in seen if not entry["hidden"]]
    assert shown and all(entry["cancel"] for entry in shown), seen  # shown while running, with its cancel button
    counts = [re.fullmatch(r"Re-simulation: (\d+) of (\d+)", entry["label"]) for entry in shown]
    counts = [(int(m.group(1)), int(m.group(2))) for m in counts if m]
    # Every count shown is a real step of one total, in order. Whether a count is seen at all
    # depends on the polls' timing: a quiet CI machine finished the check within one 500 ms
    # poll and only "Starting the re-simulation…" was seen (the unit tests check the steps).
    assert all(0 < done <= total for done, total in counts), seen
    assert [done for done, _ in counts] == sorted(done for done, _ in counts)
    assert len({total for _, total in counts}) <= 1
    assert any(entry["label"] for entry in seen), seen  # the running label was shown
    until(lambda: dash_duo.find_element(f"#{ids.SCENARIO_TRUTH_RUNNING}").get_attribute("hidden") is not None,
          timeout=10)
    assert dash_duo.find_element(f"#{ids.SCENARIO_TRUTH_BUTTON}").is_enabled()
    assert dash_duo.get_logs() == []
