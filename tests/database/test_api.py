"""The outreach JSON API (app/api.py) against the session's app and its SQLite log."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

TODAY = dt.datetime.now(dt.timezone.utc).date()


@pytest.fixture
def client(dash_app, access_users):
    from tests.conftest import signed_in

    return signed_in(dash_app, access_users["admin"])


@pytest.fixture
def scored_patient(app_data):
    """The first candidate: the top of the Worklist's default ranking."""
    from callbacks.worklist import ranked, sort_choice

    return ranked(app_data.risk_scores, sort_choice(None)).iloc[0]


def test_candidates_are_the_ranked_worklist(client, app_data):
    response = client.get("/api/v1/outreach/candidates?limit=5")
    assert response.status_code == 200
    body = response.get_json()
    assert body["count"] == 5 and body["ranked_by"] in ("risk", "expected_gain")
    expected = app_data.risk_scores.sort_values(body["ranked_by"], ascending=False, kind="stable").head(5)
    assert [c["patient_id"] for c in body["candidates"]] == list(expected["patient_id"])
    first = body["candidates"][0]
    assert {"patient_id", "awaited_stage", "window_closes", "risk", "last_attempt"} <= set(first)
    assert dt.date.fromisoformat(first["window_closes"])


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=100000"])
def test_candidates_limit_is_checked(client, query):
    response = client.get(f"/api/v1/outreach/candidates?{query}")
    assert response.status_code == 400 and response.get_json()["error"].startswith("limit: ")


def test_post_stores_and_get_reads_back_newest_first(client, scored_patient):
    pid = scored_patient["patient_id"]
    first = client.post("/api/v1/outreach", json={"patient_id": pid, "disposition": "left_message",
                                                  "note": "left a voicemail", "due": TODAY.isoformat()})
    assert first.status_code == 201, first.get_json()
    second = client.post("/api/v1/outreach", json={"patient_id": pid, "disposition": "reached_rebooked",
                                                   "coordinator": "ana"})
    assert second.status_code == 201
    body = client.get(f"/api/v1/outreach?patient_id={pid}").get_json()
    assert [a["id"] for a in body["attempts"]][:2] == [second.get_json()["id"], first.get_json()["id"]]
    assert body["attempts"][1]["due"] == TODAY.isoformat() and body["attempts"][1]["note"] == "left a voicemail"
    # The attempt joined the patient's item for the stage the scores say they await.
    from callbacks import context

    items = context.current().outreach.items_frame()
    item = items[items["id"] == first.get_json()["item_id"]].iloc[0]
    assert item["awaited_stage"] == scored_patient["awaiting_stage"]
    assert item["decision_date"] == scored_patient["decision_date"].date()
    # ... and the worklist shows it as the last attempt.
    candidates = client.get("/api/v1/outreach/candidates?limit=1").get_json()["candidates"]
    assert candidates[0]["patient_id"] == pid
    assert candidates[0]["last_attempt"]["last_disposition"] == "reached_rebooked"


@pytest.mark.parametrize("body, field", [
    ({"disposition": "left_message"}, "patient_id"),
    ({"patient_id": "NOT-A-PATIENT", "disposition": "left_message"}, "patient_id"),
    ({"patient_id": "{pid}", "disposition": "phoned"}, "disposition"),
    ({"patient_id": "{pid}", "disposition": "left_message", "note": "x" * 2001}, "note"),
    ({"patient_id": "{pid}", "disposition": "left_message", "due": "2001-01-01"}, "due"),
    ({"patient_id": "{pid}", "disposition": "left_message", "due": "soon"}, "due"),
    ({"patient_id": "{pid}", "disposition": "left_message", "dispostion": "typo"}, "dispostion"),
])
def test_post_rejects_bad_input_with_a_message_naming_the_field(client, scored_patient, body, field):
    body = {k: (v.format(pid=scored_patient["patient_id"]) if isinstance(v, str) else v) for k, v in body.items()}
    before = len(client.get(f"/api/v1/outreach?patient_id={scored_patient['patient_id']}").get_json()["attempts"])
    response = client.post("/api/v1/outreach", json=body)
    assert response.status_code == 400
    assert response.get_json()["field"] == field and response.get_json()["error"].startswith(f"{field}: ")
    after = len(client.get(f"/api/v1/outreach?patient_id={scored_patient['patient_id']}").get_json()["attempts"])
    assert after == before


def test_post_needs_a_json_object_and_a_small_body(client):
    assert client.post("/api/v1/outreach", data="not json", content_type="application/json").status_code == 400
    assert client.post("/api/v1/outreach", json=["a", "list"]).status_code == 400
    big = client.post("/api/v1/outreach", data="x" * 20_000, content_type="application/json")
    assert big.status_code == 413 and "larger than" in big.get_json()["error"]


def test_get_needs_a_patient_id(client):
    response = client.get("/api/v1/outreach")
    assert response.status_code == 400 and response.get_json()["field"] == "patient_id"


def test_a_retried_post_with_the_same_idempotency_key_is_stored_once(client, app_data):
    pid = app_data.risk_scores.iloc[1]["patient_id"]
    headers = {"Idempotency-Key": "retry-test-1"}
    payload = {"patient_id": pid, "disposition": "unreachable"}
    first = client.post("/api/v1/outreach", json=payload, headers=headers)
    again = client.post("/api/v1/outreach", json=payload, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    attempts = client.get(f"/api/v1/outreach?patient_id={pid}").get_json()["attempts"]
    assert sum(a["client_request_id"] == "retry-test-1" for a in attempts) == 1


def test_database_unreachable_the_api_says_503_and_the_analytics_still_work(client, app_data, monkeypatch):
    from callbacks import context, overview

    reason = "The outreach log database (postgresql+psycopg://x@127.0.0.1:9/carepath) cannot be reached: refused"
    monkeypatch.setattr(context, "_current", dataclasses.replace(app_data, outreach=None, outreach_unavailable=reason))
    monkeypatch.setitem(context._outreach_retry, "at", float("inf"))  # no reconnect attempt in this test
    pid = app_data.risk_scores.iloc[0]["patient_id"]
    post = client.post("/api/v1/outreach", json={"patient_id": pid, "disposition": "left_message"})
    assert post.status_code == 503 and post.get_json()["error"] == reason
    assert client.get(f"/api/v1/outreach?patient_id={pid}").status_code == 503
    candidates = client.get("/api/v1/outreach/candidates?limit=3").get_json()
    assert candidates["count"] == 3 and candidates["outreach_unavailable"] == reason
    assert context.current().outreach_unavailable == reason
    assert overview.update_overview("") is not None  # an analytics callback, unaffected
    assert client.get("/healthz").status_code == 200


def test_start_up_with_an_unreachable_database_logs_one_line_and_carries_on(small_models):
    from callbacks.context import open_outreach
    from data.settings import get_settings
    from scripts.local_server import free_port

    settings = dataclasses.replace(get_settings(), database_url=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/x")
    lines = []
    outreach, reason = open_outreach(settings, small_models, lines.append)
    assert outreach is None and "cannot be reached" in reason
    assert len(lines) == 1 and lines[0].startswith("outreach log unavailable:")


def test_candidates_follow_expected_gain_when_the_model_gives_it(client, app_data, monkeypatch):
    from callbacks import context

    scores = app_data.risk_scores.copy()
    scores["expected_gain"] = 1.0 - scores["risk"]  # the opposite order to risk
    bundle = dataclasses.replace(app_data.models, scores=scores)
    monkeypatch.setattr(context, "_current", dataclasses.replace(app_data, models=bundle))
    body = client.get("/api/v1/outreach/candidates?limit=3").get_json()
    assert body["ranked_by"] == "expected_gain"
    assert [c["patient_id"] for c in body["candidates"]] == list(scores.nlargest(3, "expected_gain", keep="first")["patient_id"])
    assert [c["rank"] for c in body["candidates"]] == [1, 2, 3]
    assert body["candidates"][0]["expected_gain"] == pytest.approx(scores["expected_gain"].max())


def test_the_log_is_reopened_when_the_database_comes_back(client, app_data, monkeypatch):
    from callbacks import context

    reason = "The outreach log database (sqlite) cannot be reached: down for maintenance"
    monkeypatch.setattr(context, "_current", dataclasses.replace(app_data, outreach=None, outreach_unavailable=reason))
    pid = app_data.risk_scores.iloc[2]["patient_id"]
    monkeypatch.setitem(context._outreach_retry, "at", float("inf"))  # not yet time to retry
    assert client.get(f"/api/v1/outreach?patient_id={pid}").status_code == 503
    monkeypatch.setitem(context._outreach_retry, "at", 0.0)  # retry due: the (working) database opens
    assert client.get(f"/api/v1/outreach?patient_id={pid}").status_code == 200
    assert context.current().outreach is not None and context.current().outreach_unavailable is None
