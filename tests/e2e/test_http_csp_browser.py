"""Every page renders under the app's Content-Security-Policy (app/http_guard.py) with no
violation: no inline script, eval or style the policy refuses. A policy too tight would
break a page silently for users, so each page is loaded and exercised here."""
from __future__ import annotations

import pytest

from components import ids

pytestmark = pytest.mark.e2e

# Collects violations from the moment it is installed; the page is then reloaded through
# Dash's own navigation so every callback and figure draws again under the listener.
LISTEN = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(
    e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sample || '')));
"""
VIOLATIONS = "return window.__cspViolations || [];"


def _csp_violations_in_logs(dash_duo) -> list[str]:
    return [entry["message"] for entry in dash_duo.get_logs() or []
            if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]]


def _visit(dash_duo, path: str, ready_selector: str):
    dash_duo.driver.get(dash_duo.server_url + path)
    dash_duo.wait_for_element(ready_selector, timeout=30)
    dash_duo.driver.execute_script(LISTEN)


def test_every_page_renders_under_the_csp_without_violations(dash_duo, dash_app, app_data):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1400, 1000)
    top = app_data.risk_scores.iloc[0]["patient_id"]
    pages = [
        ("/", f"#{ids.FUNNEL_GRAPH} .js-plotly-plot"),
        ("/pathways", f"#{ids.SANKEY_GRAPH} .js-plotly-plot"),
        ("/model", f"#{ids.MODEL_ROC_GRAPH} .js-plotly-plot"),
        ("/worklist", f"#{ids.WORKLIST_GRID} .ag-row"),
        (f"/patient?id={top}", f"#{ids.PATIENT_TIMELINE_GRAPH} .js-plotly-plot"),
        ("/scenarios", f"#{ids.SCENARIO_FUNNEL_GRAPH} .js-plotly-plot"),
    ]
    seen = {}
    for path, ready in pages:
        _visit(dash_duo, path, ready)
        # Through the app's own navigation (a callback round trip, figures redrawn) and back.
        dash_duo.find_element(f"#{ids.NAV_LINKS['/']}").click()
        dash_duo.wait_for_element(f"#{ids.FUNNEL_GRAPH} .js-plotly-plot", timeout=30)
        seen[path] = dash_duo.driver.execute_script(VIOLATIONS)
    assert all(not found for found in seen.values()), seen
    assert _csp_violations_in_logs(dash_duo) == []
    header = dash_duo.driver.execute_script(
        "return fetch('/').then(r => r.headers.get('content-security-policy'));")
    assert "frame-ancestors 'none'" in header


def test_background_jobs_run_under_the_csp(dash_duo, dash_app, app_data):
    """The background jobs' polls, progress and results (truth check, re-training) need nothing
    the policy refuses."""
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1400, 1000)
    _visit(dash_duo, "/scenarios", f"#{ids.SCENARIO_FUNNEL_GRAPH} .js-plotly-plot")
    dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element(f"#{ids.SCENARIO_TRUTH_BUTTON}"))
    dash_duo.wait_for_contains_text(f"#{ids.SCENARIO_TRUTH}", "Ground truth", timeout=60)
    truth_violations = dash_duo.driver.execute_script(VIOLATIONS)

    # The admin's re-training page: the session's data are unchanged, so the job says so.
    _visit(dash_duo, "/admin/models", f"#{ids.ADMIN_RETRAIN_BUTTON}")
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_MODELS_CURRENT}", app_data.models.key, timeout=20)
    dash_duo.find_element(f"#{ids.ADMIN_RETRAIN_BUTTON}").click()
    dash_duo.wait_for_contains_text(f"#{ids.ADMIN_RETRAIN_RESULT}", "Nothing was re-trained", timeout=120)
    assert truth_violations == [] and dash_duo.driver.execute_script(VIOLATIONS) == []
    assert _csp_violations_in_logs(dash_duo) == []
