"""Sign-in and roles at the HTTP layer (app/access): nobody unsigned reads anything, a role
without patient-level access gets 403 and nothing else, a coordinator sees their sites only."""
from __future__ import annotations

import json

import pytest

from components import ids
from tests.conftest import TEST_PASSWORD, signed_in


def _dispatch_body(outputs: list[tuple[str, str]], inputs: list[tuple[str, str, object]], state=()) -> dict:
    """A /_dash-update-component body as the Dash renderer sends it."""
    output = "...".join(f"{i}.{p}" for i, p in outputs)
    return {
        "output": f"..{output}.." if len(outputs) > 1 else output,
        "outputs": [{"id": i, "property": p} for i, p in outputs] if len(outputs) > 1
        else {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
        "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"],
    }


PATIENT_OUTPUTS = [(ids.PATIENT_MESSAGE, "children"), (ids.PATIENT_DETAILS, "hidden"), (ids.PATIENT_HEADER, "children"),
                   (ids.PATIENT_RISK, "children"), (ids.PATIENT_DRIVERS_GRAPH, "figure"),
                   (ids.PATIENT_DRIVERS_GRAPH, "style"), (ids.PATIENT_DRIVERS_LIST, "children"),
                   (ids.PATIENT_TIMELINE_GRAPH, "figure"), (ids.PATIENT_ATTRIBUTES, "children")]
WORKLIST_OUTPUTS = [(ids.WORKLIST_MESSAGE, "children"), (ids.WORKLIST_BODY, "hidden"),
                    (ids.WORKLIST_SUMMARY, "children"), (ids.WORKLIST_GRID, "rowData")]


def patient_request(patient_id: str) -> dict:
    return _dispatch_body(PATIENT_OUTPUTS, [(ids.PATIENT_SEARCH, "value", patient_id), (ids.PATIENT_OPEN, "n_clicks", None),
                                            (ids.COHORT_QUERY, "data", "")])


def worklist_request() -> dict:
    return _dispatch_body(WORKLIST_OUTPUTS, [(ids.COHORT_QUERY, "data", ""), (ids.WORKLIST_CAPACITY, "value", "all"),
                                             (ids.WORKLIST_SORT, "value", "risk"),
                                             (ids.WORKLIST_SHOW_CALLED, "value", True),
                                             (ids.WORKLIST_REFRESH, "data", 0)])


def _layout_loaded(client) -> None:
    # Dash fills its callback map on the first request of a client session.
    assert client.get("/_dash-layout").status_code == 200
    assert client.get("/_dash-dependencies").status_code == 200


def patient_of_site(app_data, site, other=False):
    patients = app_data.dataset.patients
    chosen = patients[(patients["site"] != site) if other else (patients["site"] == site)]
    scored = set(app_data.risk_scores["patient_id"])
    in_scores = chosen[chosen["patient_id"].isin(scored)]
    return str((in_scores if len(in_scores) else chosen)["patient_id"].iloc[0])


# --- unauthenticated ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/worklist", "/patient?id=P0000001", "/overview", "/admin/audit"])
def test_pages_redirect_to_sign_in_when_nobody_is_signed_in(dash_app, path):
    response = dash_app.server.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("method, path", [("GET", "/_dash-layout"), ("GET", "/_dash-dependencies"),
                                          ("POST", "/_dash-update-component"),
                                          ("GET", "/api/v1/outreach/candidates?limit=5"),
                                          ("GET", "/api/v1/outreach?patient_id=P0000001"),
                                          ("POST", "/api/v1/outreach")])
def test_callbacks_and_api_answer_401_when_nobody_is_signed_in(dash_app, app_data, method, path):
    body = worklist_request() if path == "/_dash-update-component" else {"patient_id": "x", "disposition": "unreachable"}
    response = dash_app.server.test_client().open(path, method=method, json=body if method == "POST" else None)
    assert response.status_code == 401
    assert "patient_id" not in response.get_data(as_text=True).replace('"patient_id"', "")  # no data, only the error
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_sign_in_page_health_and_static_files_are_public(dash_app):
    client = dash_app.server.test_client()
    login = client.get("/login")
    assert login.status_code == 200
    page = login.get_data(as_text=True)
    assert 'name="username"' in page and 'name="password"' in page and 'name="csrf_token"' in page
    assert client.get("/healthz").status_code == 200
    assert client.get("/assets/carepath.css").status_code == 200


# --- signing in with the form ------------------------------------------------------------

def _csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_sign_in_form_sets_an_httponly_samesite_session_and_signs_out(dash_app, access_users):
    client = dash_app.server.test_client()
    response = client.post("/login", data={"username": "t-admin", "password": TEST_PASSWORD,
                                           "csrf_token": _csrf(client), "next": "/worklist"})
    assert response.status_code == 302 and response.headers["Location"] == "/worklist"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/_dash-layout").status_code == 200
    signed_out = client.post("/logout", data={"csrf_token": _csrf_from_logout(client)})
    assert signed_out.status_code == 302
    assert client.get("/_dash-layout").status_code == 401


def _csrf_from_logout(client) -> str:
    page = client.get("/logout").get_data(as_text=True)
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_sign_in_refuses_a_wrong_password_a_missing_csrf_token_and_an_offsite_next(dash_app, access_users):
    client = dash_app.server.test_client()
    wrong = client.post("/login", data={"username": "t-admin", "password": "not-the-password",
                                        "csrf_token": _csrf(client)})
    assert wrong.status_code == 401 and "do not match" in wrong.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401
    no_csrf = dash_app.server.test_client().post("/login", data={"username": "t-admin", "password": TEST_PASSWORD})
    assert no_csrf.status_code == 400
    offsite = client.post("/login", data={"username": "t-analyst", "password": TEST_PASSWORD,
                                          "csrf_token": _csrf(client), "next": "//evil.example/x"})
    assert offsite.status_code == 302 and offsite.headers["Location"] == "/"


def test_failed_sign_ins_are_delayed_and_locked_out():
    from app.access.ratelimit import SignInLimiter

    now, slept = [1000.0], []
    limiter = SignInLimiter(max_failures=5, window=900, delay=0.5, clock=lambda: now[0], sleep=slept.append)
    for _ in range(5):
        assert limiter.retry_after("user:bob", "addr:1.2.3.4") == 0
        limiter.failed("user:bob", "addr:1.2.3.4")
    assert slept == [0.5] * 5
    assert limiter.retry_after("user:bob", "addr:9.9.9.9") > 0  # the name is locked from any address
    assert limiter.retry_after("user:eve", "addr:1.2.3.4") > 0  # and the address for any name
    now[0] += 901
    assert limiter.retry_after("user:bob", "addr:1.2.3.4") == 0


# --- tokens ------------------------------------------------------------------------------

def test_api_token_works_and_a_revoked_or_unknown_one_does_not(dash_app, access_users):
    from app.access import current_store

    users = current_store().users
    token = users.issue_token("t-coordinator-all")
    client = dash_app.server.test_client()
    ok = client.get("/api/v1/outreach/candidates?limit=3", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.get_json()["count"] == 3
    unknown = client.get("/api/v1/outreach/candidates?limit=3", headers={"Authorization": f"Bearer {token}x"})
    assert unknown.status_code == 401
    users.revoke_tokens("t-coordinator-all")
    revoked = client.get("/api/v1/outreach/candidates?limit=3", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401


# --- roles ---------------------------------------------------------------------------------

def test_analyst_gets_403_and_nothing_else_for_patient_level_data(dash_app, app_data, access_users):
    client = signed_in(dash_app, access_users["analyst"])
    _layout_loaded(client)
    patient_id = str(app_data.risk_scores["patient_id"].iloc[0])
    for response in (client.post("/_dash-update-component", json=worklist_request()),
                     client.post("/_dash-update-component", json=patient_request(patient_id)),
                     client.get("/api/v1/outreach/candidates?limit=5"),
                     client.get(f"/api/v1/outreach?patient_id={patient_id}"),
                     client.get("/worklist"), client.get(f"/patient?id={patient_id}")):
        assert response.status_code == 403
        assert response.get_data(as_text=True) == "Forbidden\n"
    # Aggregates are theirs: the Overview page and its callback answer.
    assert client.get("/overview").status_code == 200
    overview = next(d for d in client.get("/_dash-dependencies").get_json()
                    if f"{ids.KPI_PATIENTS}.children" in d["output"])
    outputs = [tuple(part.rsplit(".", 1)) for part in overview["output"].strip(".").split("...")]
    response = client.post("/_dash-update-component",
                           json=_dispatch_body(outputs, [(ids.COHORT_QUERY, "data", "")]))
    assert response.status_code == 200 and ids.KPI_PATIENTS in response.get_json()["response"]


def test_audit_report_is_for_admins_only(dash_app, access_users):
    body = _dispatch_body([(ids.AUDIT_SUMMARY, "children"), (ids.AUDIT_GRID, "rowData")],
                          [(ids.AUDIT_USER, "value", None), (ids.AUDIT_ACTION, "value", None),
                           (ids.AUDIT_DATES, "start_date", None), (ids.AUDIT_DATES, "end_date", None)])
    coordinator = signed_in(dash_app, access_users["coordinator_all"])
    _layout_loaded(coordinator)
    assert coordinator.get("/admin/audit").status_code == 403
    assert coordinator.post("/_dash-update-component", json=body).status_code == 403
    admin = signed_in(dash_app, access_users["admin"])
    _layout_loaded(admin)
    response = admin.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    assert "Chain intact" in json.dumps(response.get_json())


def test_coordinator_cannot_read_another_sites_patient(dash_app, app_data, access_users):
    site = access_users["coordinator_a"].sites[0]
    client = signed_in(dash_app, access_users["coordinator_a"])
    _layout_loaded(client)
    other = patient_of_site(app_data, site, other=True)
    own = patient_of_site(app_data, site)
    refused = client.post("/_dash-update-component", json=patient_request(other))
    assert refused.status_code == 403 and refused.get_data(as_text=True) == "Forbidden\n"
    assert other not in refused.get_data(as_text=True)
    assert client.get(f"/api/v1/outreach?patient_id={other}").status_code == 403
    assert client.post("/api/v1/outreach", json={"patient_id": other, "disposition": "unreachable"}).status_code == 403
    allowed = client.post("/_dash-update-component", json=patient_request(own))
    assert allowed.status_code == 200 and own in allowed.get_data(as_text=True)


def test_coordinator_worklist_and_api_list_only_their_sites(dash_app, app_data, access_users):
    site = access_users["coordinator_a"].sites[0]
    site_of = dict(zip(app_data.dataset.patients["patient_id"].astype(str), app_data.dataset.patients["site"]))
    client = signed_in(dash_app, access_users["coordinator_a"])
    _layout_loaded(client)
    response = client.post("/_dash-update-component", json=worklist_request())
    assert response.status_code == 200
    rows = response.get_json()["response"][ids.WORKLIST_GRID]["rowData"]
    assert rows and {site_of[r["patient_id"]] for r in rows} == {site}
    everyone = signed_in(dash_app, access_users["admin"])
    _layout_loaded(everyone)
    all_rows = everyone.post("/_dash-update-component", json=worklist_request()).get_json()["response"][
        ids.WORKLIST_GRID]["rowData"]
    assert len(all_rows) > len(rows)
    candidates = client.get("/api/v1/outreach/candidates?limit=1000").get_json()["candidates"]
    assert candidates and {site_of[c["patient_id"]] for c in candidates} == {site}


def test_patient_views_worklist_renders_and_api_reads_are_audited(dash_app, app_data, access_users):
    from app.access import current_store

    trail = current_store().audit
    before = trail.head()[0]
    client = signed_in(dash_app, access_users["coordinator_all"])
    _layout_loaded(client)
    patient_id = str(app_data.risk_scores["patient_id"].iloc[0])
    assert client.post("/_dash-update-component", json=patient_request(patient_id)).status_code == 200
    listed = client.post("/_dash-update-component", json=worklist_request()).get_json()["response"][
        ids.WORKLIST_GRID]["rowData"]
    assert client.get("/api/v1/outreach/candidates?limit=4").status_code == 200
    events = [row for row in trail.rows() if row.id > before]
    assert [e.action for e in reversed(events)] == ["patient_view", "worklist_view", "api_read"]
    assert all(e.username == "t-coordinator-all" and e.role == "coordinator" for e in events)
    view, worklist, api = reversed(events)
    assert view.as_json()["patient_ids"] == [patient_id] and view.page == "/patient"
    assert worklist.patient_count == len(listed)
    assert api.patient_count == 4
    assert trail.verify().ok


def test_openid_connect_claims_map_to_a_role_and_sites():
    from app.access.oidc import role_from_claims, sites_from_claims

    assert role_from_claims({"carepath_role": "Coordinator"}, "carepath_role") == "coordinator"
    assert role_from_claims({"groups": ["staff", "analyst", "admin"]}, "groups") == "admin"  # most privileged known
    assert role_from_claims({"groups": ["staff"]}, "groups") is None
    assert role_from_claims({}, "carepath_role") is None
    assert sites_from_claims({"carepath_sites": "North, East"}, "carepath_sites") == ("North", "East")
    assert sites_from_claims({"carepath_sites": ["North"]}, "carepath_sites") == ("North",)
