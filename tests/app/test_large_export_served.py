"""A coordinator's Worklist export of more than 1,000 rows, through a served app (gunicorn, two
workers). The export used to send the grid's rows back as request State: past ~850 rows that
body is over the 1 MB request limit (CAREPATH_MAX_REQUEST_BYTES) and was refused with 413. Now
a background job rebuilds the rows on the server and the request carries only the page state."""
from __future__ import annotations

import base64
import io
import json
import time

import pandas as pd
import requests

from components import ids
from tests.busy_server import served_busy_app

CALLBACK = "/_dash-update-component"


def _key(*outputs: tuple[str, str]) -> str:
    """The output key Dash's renderer sends: 'id.prop' for one output, '..a.p...b.q..' for several."""
    parts = [f"{component}.{prop}" for component, prop in outputs]
    return parts[0] if len(parts) == 1 else ".." + "...".join(parts) + ".."


def _body(outputs, inputs, state=()) -> dict:
    def entries(items):
        return [{"id": component, "property": prop, "value": value} for component, prop, value in items]

    return {"output": _key(*outputs), "outputs": [{"id": c, "property": p} for c, p in outputs],
            "inputs": entries(inputs), "state": entries(state), "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"]}


PAGE_STATE = ((ids.COHORT_QUERY, "data", ""), (ids.WORKLIST_CAPACITY, "value", "all"),
              (ids.WORKLIST_SORT, "value", "risk"), (ids.WORKLIST_SHOW_CALLED, "value", False))


def _grid_rows(session, base) -> list[dict]:
    body = _body(((ids.WORKLIST_MESSAGE, "children"), (ids.WORKLIST_BODY, "hidden"),
                  (ids.WORKLIST_SUMMARY, "children"), (ids.WORKLIST_GRID, "rowData")),
                 (*PAGE_STATE, (ids.WORKLIST_REFRESH, "data", 0)))
    answer = session.post(base + CALLBACK, json=body, timeout=120)
    assert answer.status_code == 200, answer.text[:300]
    return answer.json()["response"][ids.WORKLIST_GRID]["rowData"]


def _export(session, base, timeout: float = 120) -> dict:
    body = _body(((ids.WORKLIST_DOWNLOAD, "data"), (ids.WORKLIST_EXPORT_NOTE, "children")),
                 ((ids.WORKLIST_EXPORT_BUTTON, "n_clicks", 1),),
                 (*PAGE_STATE, (ids.WORKLIST_GRID, "columnState", None), (ids.WORKLIST_FILTERED_IDS, "data", None)))
    started = session.post(base + CALLBACK, json=body, timeout=60)
    assert started.status_code == 200, started.text[:300]
    assert len(json.dumps(body)) < 2_000  # the page state only, whatever the list's length
    handles = started.json()
    deadline = time.time() + timeout
    while time.time() < deadline:  # two workers: the polls land on either, the job's folder is shared
        polled = session.post(base + CALLBACK, params={"cacheKey": handles["cacheKey"], "job": handles["job"]},
                              json=body, timeout=60)
        assert polled.status_code == 200, polled.text[:300]
        if "response" in polled.json():
            return polled.json()["response"]
        time.sleep(0.25)
    raise AssertionError("the export job did not answer")


def test_a_coordinators_export_of_over_1000_rows_downloads(tmp_path):
    with served_busy_app(tmp_path) as (base, token):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        rows = _grid_rows(session, base)
        assert len(rows) > 1_000
        # What the old export sent: the grid's rows, twice (shown and given), as State.
        old_body = json.dumps({"output": f"{ids.WORKLIST_DOWNLOAD}.data",
                               "inputs": [{"id": ids.WORKLIST_EXPORT_BUTTON, "property": "n_clicks", "value": 1}],
                               "state": [{"id": ids.WORKLIST_GRID, "property": "virtualRowData", "value": rows},
                                         {"id": ids.WORKLIST_GRID, "property": "rowData", "value": rows}]})
        assert len(old_body) > 1024 * 1024
        assert session.post(base + CALLBACK, data=old_body, headers={"Content-Type": "application/json"},
                            timeout=60).status_code == 413

        response = _export(session, base)
        download = response[ids.WORKLIST_DOWNLOAD]["data"]
        content = base64.b64decode(download["content"]).decode() if download.get("base64") else download["content"]
        exported = pd.read_csv(io.StringIO(content), dtype=str, keep_default_na=False)
        assert list(exported["Patient"]) == [row["patient_id"] for row in rows]
        assert list(exported["#"]) == [str(row["rank"]) for row in rows]
