"""The outreach JSON API (docs/api.md): the ranked worklist, and logging and reading calls.

    GET  /api/v1/outreach/candidates?limit=N
    POST /api/v1/outreach                      {patient_id, disposition, note, due, coordinator}
    GET  /api/v1/outreach?patient_id=ID

Thin: the reading and writing is database.outreach, the same module the Worklist uses.
"""
from __future__ import annotations

import math

import pandas as pd
from flask import Blueprint, jsonify, request
from werkzeug.exceptions import HTTPException

from callbacks import access_scope, context
from database.outreach import DISPOSITIONS, DatabaseUnavailable, OutreachInputError

MAX_BODY_BYTES = 16 * 1024  # a note is at most 2,000 characters; nothing legitimate comes near this
DEFAULT_LIMIT, MAX_LIMIT = 50, 1000
POST_FIELDS = ("patient_id", "disposition", "note", "due", "coordinator", "request_id")

api = Blueprint("api_v1", __name__, url_prefix="/api/v1")


def _error(status: int, message: str, field: str | None = None):
    body = {"error": message}
    if field is not None:
        body["field"] = field
    return jsonify(body), status


@api.before_request
def _limit_size():
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _error(413, f"request body larger than {MAX_BODY_BYTES} bytes")
    return None


@api.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return _error(error.code or 500, error.description or error.name)


@api.errorhandler(DatabaseUnavailable)
def _unavailable(error: DatabaseUnavailable):
    return _error(503, str(error))


@api.errorhandler(OutreachInputError)
def _bad_input(error: OutreachInputError):
    return _error(400, str(error), error.field)


def _json_value(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _ranked_scores() -> pd.DataFrame:
    """The Worklist's default ranking (expected gain when the benefit model exists, else risk)."""
    from callbacks.worklist import ranked, sort_choice

    scores = context.current().risk_scores
    if scores is None or scores.empty:
        return pd.DataFrame(columns=["patient_id"])
    return ranked(access_scope.in_scope(scores), sort_choice(None))  # a coordinator's sites only


@api.get("/outreach/candidates")
def candidates():
    """The ranked worklist: whom to call, by when, and what happened last time."""
    raw = request.args.get("limit", str(DEFAULT_LIMIT))
    try:
        limit = int(raw)
    except ValueError:
        return _error(400, f"limit: must be a whole number from 1 to {MAX_LIMIT}, got {raw[:20]!r}", "limit")
    if not 1 <= limit <= MAX_LIMIT:
        return _error(400, f"limit: must be a whole number from 1 to {MAX_LIMIT}, got {limit}", "limit")
    app_data = context.current()
    top = _ranked_scores().head(limit)
    columns = [c for c in ("patient_id", "program", "awaiting_stage", "stage_name", "decision_date",
                           "window_closes", "waited_days", "risk", "risk_tier", "expected_gain") if c in top.columns]
    latest, unavailable = {}, None
    try:
        outreach = context.outreach_log()
        if not top.empty:
            frame = outreach.latest_by_patient(patient_ids=top["patient_id"].astype(str).tolist())
            latest = {row["patient_id"]: {k: _json_value(row[k]) for k in frame.columns if k != "patient_id"}
                      for row in frame.to_dict("records")}
    except DatabaseUnavailable as error:  # the worklist is still served, without the log
        unavailable = str(error)
    items = []
    for position, row in enumerate(top[columns].to_dict("records"), start=1):
        item = {"rank": position, **{k: _json_value(v) for k, v in row.items()}}
        item["awaited_stage"] = item.pop("awaiting_stage", None)
        item["last_attempt"] = latest.get(str(row["patient_id"]))
        items.append(item)
    access_scope.audit("api_read", "/api/v1/outreach/candidates", [item["patient_id"] for item in items])
    body = {"as_of": str(app_data.dataset.as_of.date()), "count": len(items), "candidates": items,
            "ranked_by": "expected_gain" if "expected_gain" in top.columns else "risk"}
    if app_data.risk_scores is None:
        body["model_unavailable"] = app_data.models_unavailable or "no model is loaded"
    if unavailable:
        body["outreach_unavailable"] = unavailable
    return jsonify(body)


@api.post("/outreach")
def record():
    """Log one call. 201 with the stored attempt; 200 with the same attempt when a request
    with the same Idempotency-Key (or request_id) was stored before; 400 naming the field."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "body: must be a JSON object with patient_id and disposition", "body")
    unknown = sorted(set(body) - set(POST_FIELDS))
    if unknown:
        return _error(400, f"{unknown[0]}: unknown field (allowed: {', '.join(POST_FIELDS)})", unknown[0])
    outreach = context.outreach_log()
    app_data = context.current()
    patient_id = body.get("patient_id")
    if patient_id is None or str(patient_id).strip() == "":
        return _error(400, "patient_id: is required", "patient_id")
    patient_id = str(patient_id).strip()
    if patient_id not in app_data.lookup.patient_rows:
        return _error(400, f"patient_id: no patient {patient_id[:64]!r} in the loaded data", "patient_id")
    if body.get("disposition") not in DISPOSITIONS:  # checked again below; here to name the set early
        return _error(400, f"disposition: must be one of {', '.join(DISPOSITIONS)}, got "
                           f"{str(body.get('disposition'))[:40]!r}", "disposition")
    access_scope.require_patient(patient_id)
    scored = _scored_row(patient_id)
    attempt = outreach.record_attempt(
        patient_id, body.get("disposition"), note=body.get("note"), due=body.get("due"),
        coordinator=body.get("coordinator"),
        awaited_stage=None if scored is None else scored["awaiting_stage"],
        decision_date=None if scored is None else scored["decision_date"],
        request_id=request.headers.get("Idempotency-Key") or body.get("request_id"))
    access_scope.audit("api_write", "/api/v1/outreach", [patient_id])
    return jsonify(attempt.as_json()), (200 if attempt.replayed else 201)


def _scored_row(patient_id: str):
    scores = context.current().risk_scores
    if scores is None or scores.empty:
        return None
    matches = scores.index[scores["patient_id"].to_numpy() == patient_id]
    return None if len(matches) == 0 else scores.loc[matches[0]]


@api.get("/outreach")
def attempts():
    """The patient's attempts, newest first."""
    patient_id = (request.args.get("patient_id") or "").strip()
    if not patient_id:
        return _error(400, "patient_id: is required, e.g. /api/v1/outreach?patient_id=P000123", "patient_id")
    access_scope.require_patient(patient_id)
    outreach = context.outreach_log()
    found = outreach.attempts_for(patient_id)
    access_scope.audit("api_read", "/api/v1/outreach", [patient_id])
    return jsonify({"patient_id": patient_id, "count": len(found), "attempts": [a.as_json() for a in found]})


def register_api(server) -> None:
    server.register_blueprint(api)
