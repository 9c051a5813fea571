"""The hardened HTTP surface (issue 11 item 3): body-size limit, trusted hosts, security
headers, no version disclosure, and CSV exports safe from formula injection."""
from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

from components.worklist_table import export_frame
from data.csv_safety import escape_cell, escape_formulas
from data.settings import get_settings
from tests.conftest import admin_test_client

CALLBACK = "/_dash-update-component"
LIMIT = get_settings().max_request_bytes


def test_the_limit_is_one_megabyte_by_default():
    assert LIMIT == 1024 * 1024


def test_oversized_callback_body_is_a_413_with_a_message(dash_app):
    """Issue 11: a 30 MB patient id was read, echoed back and cost the worker +310 MB."""
    body = json.dumps({"output": "x", "inputs": [{"id": "patient-search", "property": "value",
                                                   "value": "P" * (LIMIT + 10)}]})
    response = admin_test_client(dash_app).post(CALLBACK, data=body, content_type="application/json")
    assert response.status_code == 413
    assert "too large" in response.get_json()["error"]
    assert len(response.get_data()) < 500


def test_chunked_body_without_length_is_limited_too(dash_app):
    """No Content-Length (chunked transfer): the body is cut off at the limit, not read whole."""
    stream = io.BytesIO(b'{"output": "' + b"x" * (LIMIT + 10) + b'"}')
    response = admin_test_client(dash_app).post(
        CALLBACK, input_stream=stream, content_type="application/json",
        headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413


def test_oversized_post_anywhere_is_a_413(dash_app):
    response = dash_app.server.test_client().post("/healthz", data=b"x" * (LIMIT + 1),
                                                  content_type="application/octet-stream")
    assert response.status_code == 413


@pytest.mark.parametrize("host", ["evil.example", "carepath.example.com:8050", "127.0.0.2"])
def test_untrusted_host_header_is_a_400(dash_app, host):
    response = dash_app.server.test_client().get("/healthz", headers={"Host": host})
    assert response.status_code == 400


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8050", "localhost:8050"])
def test_loopback_hosts_are_trusted_by_default(dash_app, host):
    assert dash_app.server.test_client().get("/healthz", headers={"Host": host}).status_code == 200


def test_trusted_hosts_come_from_the_setting(monkeypatch):
    monkeypatch.setenv("CAREPATH_TRUSTED_HOSTS", "carepath.example.org, .example.net")
    assert get_settings().trusted_hosts == ("carepath.example.org", ".example.net")


@pytest.mark.parametrize("path", ["/", "/worklist", "/patient", "/healthz", "/_dash-layout"])
def test_security_headers_on_every_response(dash_app, path):
    headers = dash_app.server.test_client().get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self' 'sha256-" in csp
    assert "'unsafe-eval'" not in csp
    assert "object-src 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_callbacks_carrying_patient_data_are_not_stored(dash_app):
    from components import ids
    from tests.app.test_http_callbacks import callback_body, post

    body = callback_body(dash_app, ids.WORKLIST_GRID, "rowData",
                         {(ids.COHORT_QUERY, "data"): "", (ids.WORKLIST_CAPACITY, "value"): 10,
                          (ids.WORKLIST_SORT, "value"): "risk"})
    response = post(admin_test_client(dash_app), body)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_static_assets_stay_cacheable(dash_app):
    client = admin_test_client(dash_app)
    page = client.get("/").get_data(as_text=True)
    suite = next(part.split('"')[0] for part in page.split('src="')[1:] if "_dash-component-suites" in part)
    response = client.get(suite)
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"


def test_pages_do_not_disclose_the_python_version(dash_app):
    """Issue 11: the page's Dash config carried ``python_version``."""
    import platform
    import sys

    page = admin_test_client(dash_app).get("/").get_data(as_text=True)
    config = json.loads(page.split('<script id="_dash-config" type="application/json">')[1].split("</script>")[0])
    assert "python_version" not in config
    assert sys.version not in page and f"Python/{platform.python_version()}" not in page


# ---------------------------------------------------------------- CSV formula injection
@pytest.mark.parametrize("cell", ['=HYPERLINK("http://evil.example","click")', "+1+2", "-2+3", "@SUM(A1)",
                                  "\t=1+1", "\r=1+1"])
def test_formula_cells_are_escaped(cell):
    assert escape_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["P0001234", "High", "in 3 days · 2026-10-12", 3, -0.5, None])
def test_ordinary_cells_are_left_alone(cell):
    assert escape_cell(cell) == cell


def test_worklist_export_escapes_what_the_browser_sends():
    """Issue 11: ``=HYPERLINK(...)`` was written to the Worklist CSV unescaped. The rows come
    from the browser (the grid's virtualRowData), so anything in them can be forged."""
    rows = [{"rank": 1, "patient_id": "P0000001", "program": "Diabetes", "owner": '=HYPERLINK("http://x","y")',
             "top_drivers": "@cmd", "risk_text": "42%", "last_call": "-1+1"}]
    text = export_frame(rows).to_csv(index=False)
    cells = next(row for row in csv.DictReader(io.StringIO(text)))
    assert cells["Owner"] == '\'=HYPERLINK("http://x","y")'
    assert cells["Why (top drivers)"] == "'@cmd"
    assert cells["Last call"] == "'-1+1"
    assert cells["Patient"] == "P0000001"


def test_score_cli_export_escapes_formulas():
    frame = pd.DataFrame({"patient_id": ["P1"], "site": ["=cmd|' /C calc'!A0"], "risk": [-0.1]})
    escaped = escape_formulas(frame)
    assert escaped.loc[0, "site"].startswith("'=")
    assert escaped.loc[0, "risk"] == -0.1


def test_the_bound_address_is_trusted_by_default(monkeypatch):
    monkeypatch.delenv("CAREPATH_TRUSTED_HOSTS", raising=False)
    monkeypatch.setenv("CAREPATH_HOST", "10.0.0.5")
    assert get_settings().trusted_hosts == ("localhost", "127.0.0.1", "::1", "10.0.0.5")
    monkeypatch.setenv("CAREPATH_HOST", "0.0.0.0")
    assert get_settings().trusted_hosts == ("localhost", "127.0.0.1", "::1")
