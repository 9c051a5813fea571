"""Malformed callback requests, posted to the real ``/_dash-update-component`` with Flask's
test client: each is answered 400 with a message (issue 11: they were generic 500s), and a
long cohort query can no longer blow up the Worklist's response."""
from __future__ import annotations

import json

import pytest

from components import ids
from tests.conftest import admin_test_client
from data.pathway import DECISION_STAGES

CALLBACK = "/_dash-update-component"


def _entry(component_id, prop, value=None):
    return {"id": component_id, "property": prop, "value": value}


def callback_body(app, output_id: str, output_prop: str, values: dict | None = None, state: dict | None = None,
                  changed: list[str] | None = None) -> dict:
    """The body Dash's renderer posts for the callback that writes ``output_id.output_prop``,
    its inputs and state at None except ``values`` / ``state`` ({(id, prop): value})."""
    values, state = values or {}, state or {}
    wanted = f"{output_id}.{output_prop}"
    key = next(k for k in app.callback_map if wanted in k.strip(".").split("..."))
    spec = app.callback_map[key]

    def entries(deps, given):
        out = []
        for dep in deps:
            dep_id = dep["id"]
            if isinstance(dep_id, str) and dep_id.startswith("{"):
                dep_id = json.loads(dep_id)
            if isinstance(dep_id, dict):  # a pattern-matching input: the ones given (JSON ids), as a list
                out.append([_entry(json.loads(i), dep["property"], v) for (i, p), v in given.items()
                            if i.startswith("{")])
            else:
                out.append(_entry(dep_id, dep["property"], given.get((dep_id, dep["property"]))))
        return out

    outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
               for part in key.strip(".").split("...")]
    if changed is None and values:
        first_id, first_prop = next(iter(values))
        changed = [f"{first_id}.{first_prop}"]
    return {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": entries(spec["inputs"], values), "state": entries(spec.get("state", []), state),
            "changedPropIds": changed or []}


def post(client, body, raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(body).encode()
    return client.post(CALLBACK, data=data, content_type="application/json")


def _controls(**overrides):
    """Scenario control values, all neutral, with ``overrides`` ({control id: value})."""
    from callbacks.scenarios import CONTROL_IDS

    return {(cid, "value"): overrides.get(cid, 0) for cid in CONTROL_IDS}


def _preset_id(name: str) -> str:
    """A preset button's pattern-matching id, as Dash writes it in changedPropIds."""
    return json.dumps({"preset": name, "type": ids.SCENARIO_PRESET}, separators=(",", ":"), sort_keys=True)


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


FIRST_STAGE = DECISION_STAGES[0]


def probes(app):
    """The 20 malformed-but-small requests of issue 11, built against the app's callbacks."""
    worklist = (ids.WORKLIST_GRID, "rowData")
    scenario = (ids.SCENARIO_STATE, "data")
    patient = (ids.PATIENT_MESSAGE, "children")
    pathways_out = _pathways_output(app)
    overview_out = _overview_output(app)

    def wl(**changes):
        values = {(ids.COHORT_QUERY, "data"): "", (ids.WORKLIST_CAPACITY, "value"): 25,
                  (ids.WORKLIST_SORT, "value"): "risk"}
        values.update(changes.get("values", {}))
        return callback_body(app, *worklist, values)

    def sc(**overrides):
        values = {(ids.COHORT_QUERY, "data"): "", **_controls(**overrides)}
        return callback_body(app, *scenario, values)

    forged_state = {"levers": {"screening_uptake_pp": [1, 2], "wait_cut_pct": {}}, "cohort_query": ""}
    return {
        "overview: cohort query as a number": callback_body(app, *overview_out, {(ids.COHORT_QUERY, "data"): 5}),
        "overview: cohort query as a list": callback_body(app, *overview_out, {(ids.COHORT_QUERY, "data"): ["?a"]}),
        "pathways: cohort query as an object": callback_body(app, *pathways_out,
                                                             {(ids.COHORT_QUERY, "data"): {"program": "x"}}),
        "worklist: cohort query as an object": wl(values={(ids.COHORT_QUERY, "data"): {"q": 1}}),
        "worklist: capacity as a list": wl(values={(ids.WORKLIST_CAPACITY, "value"): [10, 25]}),
        "worklist: capacity as an object": wl(values={(ids.WORKLIST_CAPACITY, "value"): {"n": 10}}),
        "worklist: sort as a list": wl(values={(ids.WORKLIST_SORT, "value"): ["risk"]}),
        "scenarios: screening lever as a list": sc(**{ids.SCENARIO_SCREENING: [5, 6]}),
        "scenarios: wait cut as an object": sc(**{ids.SCENARIO_WAIT_CUT[FIRST_STAGE]: {"v": 30}}),
        "scenarios: cost per contact as a list": sc(**{ids.SCENARIO_COST_PER_CONTACT: [45]}),
        "scenarios: forged state on the truth check": callback_body(
            app, ids.SCENARIO_TRUTH, "children",
            {(ids.SCENARIO_TRUTH_BUTTON, "n_clicks"): 1, (ids.SCENARIO_STATE, "data"): forged_state}),
        "scenarios: state with an unknown lever": callback_body(
            app, ids.SCENARIO_TRUTH, "children",
            {(ids.SCENARIO_TRUTH_BUTTON, "n_clicks"): 1,
             (ids.SCENARIO_STATE, "data"): {"levers": {"free_money": 1}, "cohort_query": ""}}),
        "scenarios: unknown preset": callback_body(
            app, ids.SCENARIO_SCREENING, "value",
            {(_preset_id("no_such_preset"), "n_clicks"): 1}),
        "patient: id as a list": callback_body(app, *patient, {(ids.PATIENT_SEARCH, "value"): ["P0000001"]}),
        "patient: id as an object": callback_body(app, *patient, {(ids.PATIENT_SEARCH, "value"): {"id": 1}}),
        "patient: id of 10,000 characters": callback_body(app, *patient, {(ids.PATIENT_SEARCH, "value"): "P" * 10_000}),
        "filter panel: programs as a number": callback_body(
            app, ids.COHORT_QUERY, "data", {(ids.FILTER_PROGRAM, "value"): 7}),
        "filter panel: age as an object": callback_body(
            app, ids.COHORT_QUERY, "data", {(ids.FILTER_AGE, "value"): {"min": 1}}),
        "model: subgroup model as a list": callback_body(
            app, ids.MODEL_SUBGROUP_GRID, "rowData", {(ids.MODEL_SUBGROUP_MODEL, "value"): ["a"]}),
        "nav: page path as an object": callback_body(
            app, ids.NAV_LINKS["/"], "href", {(ids.URL, "pathname"): {"p": 1}}),
    }


def _overview_output(app):
    return _first_output_of(app, "update_overview")


def _pathways_output(app):
    return _first_output_of(app, "update_pathways")


def _first_output_of(app, function_name: str):
    for key, spec in app.callback_map.items():
        function = spec.get("callback")
        if getattr(function, "__name__", "") == function_name or \
                getattr(getattr(function, "__wrapped__", None), "__name__", "") == function_name:
            first = key.strip(".").split("...")[0]
            return tuple(first.rsplit(".", 1))
    raise LookupError(function_name)


PROBE_NAMES = [
    "overview: cohort query as a number", "overview: cohort query as a list", "pathways: cohort query as an object",
    "worklist: cohort query as an object", "worklist: capacity as a list", "worklist: capacity as an object",
    "worklist: sort as a list", "scenarios: screening lever as a list", "scenarios: wait cut as an object",
    "scenarios: cost per contact as a list", "scenarios: forged state on the truth check",
    "scenarios: state with an unknown lever", "scenarios: unknown preset", "patient: id as a list",
    "patient: id as an object", "patient: id of 10,000 characters", "filter panel: programs as a number",
    "filter panel: age as an object", "model: subgroup model as a list", "nav: page path as an object",
]


@pytest.mark.parametrize("name", PROBE_NAMES)
def test_malformed_callback_input_is_a_400_with_a_message(dash_app, name):
    body = probes(dash_app)[name]
    response = post(admin_test_client(dash_app), body)
    assert response.status_code == 400, (name, response.status_code, response.get_data(as_text=True)[:300])
    message = response.get_json()["error"]
    assert len(message) > 20 and "Traceback" not in message


@pytest.mark.parametrize("raw, why", [
    (_deep(100_000).encode(), "100,000-deep nested JSON (RecursionError in json)"),
    (b'{"output": ' + _deep(200).encode() + b"}", "nesting deeper than the limit"),
    (b"[1, 2, 3]", "a body that is not an object"),
    (b'{"output": "nope.children", "inputs": []}', "a callback that does not exist"),
    (b"{not json", "not JSON at all"),
])
def test_malformed_callback_body_is_a_400(dash_app, raw, why):
    response = post(admin_test_client(dash_app), None, raw=raw)
    assert response.status_code == 400, why
    assert response.get_json()["error"]


def test_wrong_number_of_inputs_is_a_400(dash_app):
    body = probes(dash_app)["worklist: sort as a list"]
    body["inputs"] = body["inputs"][:2]
    response = post(admin_test_client(dash_app), body)
    assert response.status_code == 400
    assert "inputs" in response.get_json()["error"]


def test_well_formed_callbacks_still_answer_200(dash_app, app_data):
    client = admin_test_client(dash_app)
    overview = callback_body(dash_app, *_overview_output(dash_app), {(ids.COHORT_QUERY, "data"): "?program=diabetes"})
    assert post(client, overview).status_code == 200
    worklist = callback_body(dash_app, ids.WORKLIST_GRID, "rowData",
                             {(ids.COHORT_QUERY, "data"): "", (ids.WORKLIST_CAPACITY, "value"): 10,
                              (ids.WORKLIST_SORT, "value"): "risk"})
    assert post(client, worklist).status_code == 200
    scenario = callback_body(dash_app, ids.SCENARIO_STATE, "data",
                             {(ids.COHORT_QUERY, "data"): "", **_controls(**{ids.SCENARIO_SCREENING: 5})})
    assert post(client, scenario).status_code == 200
    preset = callback_body(dash_app, ids.SCENARIO_SCREENING, "value",
                           {(_preset_id("screening_drive"), "n_clicks"): 1})
    assert post(client, preset).status_code == 200


def _worklist_response_size(app, query: str) -> int:
    body = callback_body(app, ids.WORKLIST_GRID, "rowData",
                         {(ids.COHORT_QUERY, "data"): query, (ids.WORKLIST_CAPACITY, "value"): "all",
                          (ids.WORKLIST_SORT, "value"): "risk"})
    response = post(admin_test_client(app), body)
    assert response.status_code == 200
    return len(response.get_data())


def test_worklist_response_size_does_not_grow_with_the_query(dash_app):
    """Issue 11: every row's link copied the raw query, so a 257 KB query made a 142.8 MB
    response. Links now carry the canonical query: junk in the query adds nothing."""
    baseline = _worklist_response_size(dash_app, "?program=diabetes")
    padded = "?program=diabetes&" + "&".join(f"junk{i}=x" for i in range(700))  # ~7 KB, under the limit
    assert len(padded) > 6000
    assert _worklist_response_size(dash_app, padded) <= baseline * 1.01


def test_overlong_cohort_query_is_refused_not_echoed(dash_app):
    body = callback_body(dash_app, ids.WORKLIST_GRID, "rowData",
                         {(ids.COHORT_QUERY, "data"): "?program=diabetes&" + "x" * 300_000,
                          (ids.WORKLIST_CAPACITY, "value"): "all", (ids.WORKLIST_SORT, "value"): "risk"})
    response = post(admin_test_client(dash_app), body)
    assert response.status_code == 400
    assert len(response.get_data()) < 1000


def test_unexpected_exception_is_a_logged_500_without_details(dash_app, monkeypatch, caplog):
    """The last-resort guard: a bug in a callback gives a short 500 and a log line with the
    exception's type and place, never its message (which may quote a patient)."""
    from callbacks import overview

    def broken(_query):
        raise KeyError("P0000042 secret")

    monkeypatch.setattr(overview, "overview_view", broken)
    body = callback_body(dash_app, *_overview_output(dash_app), {(ids.COHORT_QUERY, "data"): ""})
    with caplog.at_level("ERROR", logger="carepath.http"):
        response = post(admin_test_client(dash_app), body)
    assert response.status_code == 500
    assert "P0000042" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert any("KeyError" in record.getMessage() for record in caplog.records)
    assert not any("P0000042" in record.getMessage() for record in caplog.records)


def test_infinite_capacity_is_not_a_500(dash_app):
    """Python's json reads ``Infinity``; int() of it overflows."""
    body = callback_body(dash_app, ids.WORKLIST_GRID, "rowData",
                         {(ids.COHORT_QUERY, "data"): "", (ids.WORKLIST_CAPACITY, "value"): 1.0,
                          (ids.WORKLIST_SORT, "value"): "risk"})
    raw = json.dumps(body).replace('"value": 1.0', '"value": Infinity').encode()
    assert b"Infinity" in raw
    assert post(admin_test_client(dash_app), None, raw=raw).status_code == 200
