"""Long work off the request path (app.background, callbacks.jobs): the jobs behind the
ground-truth check and the Worklist export act as the user who started them, report their
progress, rebuild exactly what the grid shows; their polls pass the sign-in gate; their
result keys cannot be shared between users; the job folder is the runtime cache folder's."""
from __future__ import annotations

import base64
import io
import time
from contextlib import contextmanager

import pandas as pd
import pytest
from werkzeug.exceptions import Forbidden

from callbacks import access_scope, jobs
from callbacks.access_scope import Principal
from components import ids
from tests.app.test_http_callbacks import callback_body, post
from tests.conftest import signed_in


@contextmanager
def job_of(principal: Principal | None):
    """What Dash hands a running job: the callback context its request left, with the
    principal the custom_data hook read there (None: a job that carries nobody)."""
    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    from app.background import _principal_for_job

    if principal is None:
        custom = {}
    else:
        with access_scope.acting_as(principal):
            custom = {jobs.PRINCIPAL_NAMESPACE: _principal_for_job(None)}
    token = context_value.set(AttributeDict(custom_data=AttributeDict(custom)))
    try:
        yield
    finally:
        context_value.reset(token)


def _csv(download) -> pd.DataFrame:
    content = download["content"]
    if download.get("base64"):
        content = base64.b64decode(content).decode()
    return pd.read_csv(io.StringIO(content), dtype=str, keep_default_na=False)


def _sites(app_data, patient_ids) -> set:
    patients = app_data.dataset.patients.set_index("patient_id")
    return set(patients.loc[list(patient_ids), "site"].astype(str))


# ---------------------------------------------------------------- who the job acts for
def test_a_job_that_carries_nobody_refuses():
    from callbacks.worklist import export_job

    with job_of(None), pytest.raises(Forbidden):
        export_job(1, "", "all", "risk", False, None, None)
    with pytest.raises(Forbidden):  # outside any callback context: nobody either, not "unrestricted"
        jobs.requester()


def test_the_job_refuses_an_analyst_itself(app_data):
    """The gate already refuses an analyst's export request; the job checks again."""
    from callbacks.worklist import export_job

    with job_of(Principal("ana", "analyst", ())), pytest.raises(Forbidden):
        export_job(1, "", "all", "risk", False, None, None)


def test_export_job_keeps_to_the_coordinators_sites_and_is_audited_as_them(app_data):
    from app.access import current_store
    from callbacks.worklist import export_job, worklist_view

    site = app_data.sites[0]
    everyone = [row["patient_id"] for row in worklist_view("", "all", "risk").rows]
    assert _sites(app_data, everyone) != {site}  # the test means something: other sites have patients
    coordinator = Principal("t-job-coordinator", "coordinator", (site,))
    with job_of(coordinator):
        download, note = export_job(1, "", "all", "risk", False, None, None)
    exported = list(_csv(download)["Patient"])
    assert note is None and exported and _sites(app_data, exported) == {site}
    assert exported == [pid for pid in everyone if pid in set(exported)]  # the same order, others' rows left out
    latest = current_store().audit.rows(username="t-job-coordinator", action="export", limit=1)[0]
    assert latest.role == "coordinator" and latest.patient_count == len(exported)


def test_export_job_says_why_there_is_no_file(app_data):
    from callbacks.worklist import NOTHING_TO_EXPORT, export_job

    with job_of(Principal("t-job-admin", "admin", None)):
        assert export_job(1, "", "all", "risk", False, None, [])[1] == NOTHING_TO_EXPORT
        _, note = export_job(1, "", "all", "risk", False, [{"colId": "no_such_column", "sort": "asc"}], None)
    assert note.startswith("The CSV could not be made: grid column state")


# ---------------------------------------------------------------- the export rebuilds what the grid shows
def test_rebuilt_export_matches_the_grid_rows_under_every_sort_and_filter(app_data):
    """Parity with what the grid shows: the worklist callback's rows (the grid's rowData),
    re-ordered the way AG Grid's sort orders them, or cut to the ids its filter reports."""
    from callbacks.worklist import export_rows, update_worklist
    from components.worklist_table import COLUMNS

    grid_rows = update_worklist("", "all", "deadline")[3]
    assert len(grid_rows) > 10
    assert export_rows("", "all", "deadline") == grid_rows
    for field, _, _ in COLUMNS:
        for direction in ("asc", "desc"):
            state = [{"colId": field, "sort": direction, "sortIndex": 0}]
            rebuilt = export_rows("", "all", "deadline", column_state=state)
            values = [row[field] for row in rebuilt]
            present = [value for value in values if value is not None]
            # Missing values first when ascending, last when descending; the rest in order; ties as ranked.
            missing_first = values[:len(values) - len(present)] if direction == "asc" else values[len(present):]
            assert all(value is None for value in missing_first), field
            assert present == sorted(present, reverse=direction == "desc"), field
            ties = [row["rank"] for row in rebuilt if row[field] == present[0]]
            assert ties == sorted(ties), field
    # Two sort keys: tier first (sortIndex 0), then days waiting, whatever the list order of the state.
    state = [{"colId": "waited_days", "sort": "desc", "sortIndex": 1}, {"colId": "risk_tier", "sort": "asc",
                                                                         "sortIndex": 0}]
    rebuilt = export_rows("", "all", "deadline", column_state=state)
    assert rebuilt == sorted(grid_rows, key=lambda r: (r["risk_tier"], -r["waited_days"]))
    # A filter: the ids the grid reports, in its order; ids the server did not rebuild are ignored.
    wanted = [row["patient_id"] for row in grid_rows[::3]][::-1]
    assert [r["patient_id"] for r in export_rows("", "all", "deadline", ids_shown=wanted + ["P9999999"])] == wanted


def test_export_refuses_a_forged_grid_state(app_data):
    from callbacks.worklist import export_rows
    from data.input_errors import InvalidInput

    for column_state, ids_shown in (({"colId": "risk"}, None), ([{"colId": "risk", "sort": "sideways"}], None),
                                    (None, "P0000001"), (None, [1, 2]), (None, ["P" * 65])):
        with pytest.raises(InvalidInput):
            export_rows("", 10, "risk", column_state=column_state, ids_shown=ids_shown)


# ---------------------------------------------------------------- the truth check reports progress
def test_truth_job_reports_each_resimulation_then_returns_the_check(app_data):
    from callbacks.scenarios import CONTROL_IDS, check_truth, scenario_view, truth_view
    from ml.scenarios.engine import TRUTH_CALL_DRAWS
    from tests.app.component_text import component_text

    # Screening +10 points and outreach to the top 30 %: every kind of re-simulation runs.
    controls = [10] + [0] * (len(CONTROL_IDS) - 4) + [30, 60, 40]
    state = scenario_view("", *controls).state
    calls = []
    with job_of(Principal("t-job-analyst", "analyst", ())):
        panel = check_truth(calls.append, 1, state)
    total = 2 + (TRUTH_CALL_DRAWS if app_data.scenarios.uses_benefit_model else 1)
    assert [call[0] for call in calls] == list(range(1, total + 1))
    assert {call[1] for call in calls} == {total}
    assert calls[-1][2] == f"Re-simulation: {total} of {total}"
    assert component_text(panel) == component_text(truth_view(state))


def test_truth_job_answers_a_forged_state_with_a_message(app_data):
    from callbacks.scenarios import check_truth

    with job_of(Principal("t-job-analyst", "analyst", ())):
        panel = check_truth(lambda _: None, 1, {"levers": {"free_money": 1}, "cohort_query": ""})
    assert panel.color == "danger" and panel.children.startswith("Invalid input: ")


# ---------------------------------------------------------------- keys, hook, folder
def test_result_keys_differ_per_user_and_per_click(dash_app, as_user):
    manager = dash_app.carepath_background

    def key(principal):
        with as_user(principal):
            return manager.build_cache_key(test_result_keys_differ_per_user_and_per_click, ["", 10], [], None)

    site_a = Principal("a", "coordinator", ("Site A",))
    everywhere = Principal("b", "coordinator", ("Site A", "Site B"))
    keys = {key(site_a), key(everywhere), key(site_a)}
    assert len(keys) == 3  # another scope never lands on a result, nor does a second click


def test_principal_hook_reads_the_server_side_user(dash_app, as_user):
    from app.background import _principal_for_job

    with as_user(Principal("c", "coordinator", ("Site B", "Site A"), "token")):
        assert _principal_for_job(None) == {"username": "c", "role": "coordinator", "sites": ["Site B", "Site A"],
                                            "via": "token"}
    with dash_app.server.test_request_context("/_dash-update-component", method="POST"):
        assert _principal_for_job(None) is None  # nobody signed in: the job will refuse


def test_job_results_live_in_the_runtime_cache_folder_and_expire(tmp_path):
    from app.background import JOB_RESULT_SECONDS, JOBS_FOLDER, diskcache_manager
    from data.settings import get_settings

    settings = get_settings()
    manager = diskcache_manager(settings)
    assert manager.handle.directory == str(settings.cache_dir / JOBS_FOLDER)
    manager.handle.set("probe", "value")
    _, expire_time = manager.handle.get("probe", expire_time=True)
    assert expire_time == pytest.approx(time.time() + JOB_RESULT_SECONDS, abs=60)
    manager.handle.set("stale", "rows", expire=0.01)
    time.sleep(0.05)
    diskcache_manager(settings)  # a restart (or the next job) drops results nobody collected
    assert "stale" not in manager.handle


# ---------------------------------------------------------------- over HTTP, as the browser does
def _export_body(app, **state):
    values = {(ids.WORKLIST_EXPORT_BUTTON, "n_clicks"): 1}
    given = {(ids.COHORT_QUERY, "data"): "", (ids.WORKLIST_CAPACITY, "value"): "all",
             (ids.WORKLIST_SORT, "value"): "risk", (ids.WORKLIST_SHOW_CALLED, "value"): False}
    given.update(state)
    return callback_body(app, ids.WORKLIST_DOWNLOAD, "data", values, given)


def run_background(client, body, timeout: float = 60) -> dict:
    """Start a background callback and poll it as the renderer does, until it answers."""
    started = post(client, body)
    assert started.status_code == 200, started.data[:300]
    handles = started.get_json()
    assert set(handles) >= {"cacheKey", "job"}
    deadline = time.time() + timeout
    while time.time() < deadline:
        polled = client.post(f"/_dash-update-component?cacheKey={handles['cacheKey']}&job={handles['job']}",
                             json=body)
        assert polled.status_code == 200, polled.data[:300]
        answer = polled.get_json()
        if "response" in answer:
            return answer["response"]
        time.sleep(0.1)
    raise AssertionError("the background job did not answer")


def test_export_over_http_runs_in_the_background_for_a_coordinator(dash_app, app_data, access_users):
    from callbacks.worklist import worklist_view

    client = signed_in(dash_app, access_users["coordinator_a"])
    response = run_background(client, _export_body(dash_app))
    exported = list(_csv(response[ids.WORKLIST_DOWNLOAD]["data"])["Patient"])
    site = access_users["coordinator_a"].sites[0]
    assert exported and _sites(app_data, exported) == {site}
    everyone = [row["patient_id"] for row in worklist_view("", "all", "risk").rows]
    assert exported == [pid for pid in everyone if _sites(app_data, [pid]) == {site}]


def test_export_and_its_polls_are_refused_to_an_analyst(dash_app, access_users):
    client = signed_in(dash_app, access_users["analyst"])
    body = _export_body(dash_app)
    assert post(client, body).status_code == 403
    # A poll with a result handle (here forged) is refused at the same gate, before Dash reads it.
    assert client.post("/_dash-update-component?cacheKey=x&job=1", json=body).status_code == 403
    anonymous = dash_app.server.test_client()
    assert anonymous.post("/_dash-update-component?cacheKey=x&job=1", json=body).status_code == 401


def test_truth_check_over_http_shows_the_result(dash_app, app_data, access_users):
    import json

    from callbacks.scenarios import CONTROL_IDS, scenario_view

    state = scenario_view("", *([0] * len(CONTROL_IDS))).state
    body = callback_body(dash_app, ids.SCENARIO_TRUTH, "children", {(ids.SCENARIO_TRUTH_BUTTON, "n_clicks"): 1},
                         {(ids.SCENARIO_STATE, "data"): state})
    key = next(k for k in dash_app.callback_map if k.startswith(f"{ids.SCENARIO_TRUTH}.children@"))
    body["output"] = key
    body["state"] = [{"id": ids.SCENARIO_STATE, "property": "data", "value": state}]
    response = run_background(signed_in(dash_app, access_users["analyst"]), body)
    assert "Ground truth" in json.dumps(response[ids.SCENARIO_TRUTH]["children"])
