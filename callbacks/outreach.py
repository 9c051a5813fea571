"""The Worklist's outreach workspace: record a call or take a patient on, the calls already
logged beside each patient, and the team summary. Every write goes through the outreach
log (database.outreach), the same module the JSON API uses."""
from __future__ import annotations

import datetime as dt
import uuid

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Dash, Input, Output, State, ctx, no_update

from callbacks import access_scope, context
from components import ids
from components.outreach_panel import DISPOSITION_LABELS, NO_SELECTION
from data.input_errors import number_or_none

TEAM_SUMMARY_DAYS = 30
UNAVAILABLE = ("Calls cannot be recorded right now: {reason} The list and every analytics page still work; "
               "note the call elsewhere and record it when the log is back.")


def _unavailable_error():
    from database.outreach import DatabaseUnavailable

    return DatabaseUnavailable


def outreach_log():
    """The outreach log, or None when its database cannot be reached (the reason is in
    ``context.current().outreach_unavailable``)."""
    try:
        return context.outreach_log()
    except _unavailable_error():
        return None


def unavailable_reason() -> str:
    return context.current().outreach_unavailable or "the outreach log is not open."


def latest_calls(patient_ids=None) -> pd.DataFrame:
    """One row per patient with logged calls (last call, its outcome, due date, owner), for
    ``patient_ids`` only when given (the list on screen, not the whole log), or an empty
    frame when nothing is logged or the log cannot be reached."""
    log = outreach_log()
    if log is None:
        return pd.DataFrame()
    try:
        return log.latest_by_patient(None if patient_ids is None else [str(p) for p in patient_ids])
    except _unavailable_error():
        return pd.DataFrame()


def attempted_today(latest: pd.DataFrame, today: dt.date | None = None) -> set[str]:
    """Patients whose last call was made today (UTC): the default view leaves them out."""
    if latest.empty:
        return set()
    today = today or dt.datetime.now(dt.timezone.utc).date()
    called = pd.to_datetime(latest["last_attempt_at"], utc=True).dt.date == today
    return set(latest.loc[called, "patient_id"].astype(str))


def last_call_text(row: pd.Series | None) -> str:
    """"2026-11-30 · Left a message (2 calls)" for the grid; "—" before any call."""
    if row is None:
        return "—"
    when = pd.Timestamp(row["last_attempt_at"]).strftime("%Y-%m-%d")
    calls = int(row["attempts"])
    label = DISPOSITION_LABELS.get(str(row["last_disposition"]), str(row["last_disposition"]))
    return f"{when} · {label}" + (f" ({calls} calls)" if calls > 1 else "")


def with_calls(rows: list[dict], latest: pd.DataFrame) -> list[dict]:
    """Grid rows with the last call, its due date and the owner filled in."""
    by_patient = {} if latest.empty else {str(r["patient_id"]): r for _, r in latest.iterrows()}
    for row in rows:
        call = by_patient.get(row["patient_id"])
        row["last_call"] = last_call_text(call)
        row["owner"] = str(call["owner"]) if call is not None and pd.notna(call["owner"]) else ""
        due = call["due"] if call is not None else None
        row["next_due"] = "" if due is None or pd.isna(due) else str(pd.Timestamp(due).date())
    return rows


def call_history_lines(patient_id: str, shown: int = 3) -> list[str]:
    """The patient's last calls in words, newest first, for the Patient page."""
    log = outreach_log()
    if log is None:
        return [f"Calls: not available ({unavailable_reason()})"]
    try:
        attempts = log.attempts_for(patient_id)
    except _unavailable_error() as error:
        return [f"Calls: not available ({error})"]
    if not attempts:
        return ["No call recorded yet."]
    lines = []
    for attempt in attempts[:shown]:
        who = f" by {attempt.coordinator}" if attempt.coordinator else ""
        due = f"; next call due {attempt.due:%Y-%m-%d}" if attempt.due else ""
        note = f" — “{attempt.note}”" if attempt.note else ""
        lines.append(f"Call {attempt.attempted_at:%Y-%m-%d}{who}: {DISPOSITION_LABELS.get(attempt.disposition, attempt.disposition)}"
                     f"{due}{note}")
    if len(attempts) > shown:
        lines.append(f"… and {len(attempts) - shown} earlier call{'s' if len(attempts) - shown != 1 else ''}.")
    return lines


# --- Recording ----------------------------------------------------------------------

def _selected(selected_rows) -> pd.Series | None:
    """The selected patient's score row, if the selection is a patient on the list.

    The grid is the client's: a forged selection naming someone who is not waiting for a
    booked stage in this data is refused rather than logged."""
    if not selected_rows or not isinstance(selected_rows, list) or not isinstance(selected_rows[0], dict):
        return None
    patient_id = str(selected_rows[0].get("patient_id", ""))
    scores = context.current().risk_scores
    if scores is None or not patient_id:
        return None
    match = access_scope.in_scope(scores[scores["patient_id"] == patient_id])  # another site's patient: no selection
    return None if match.empty else match.iloc[0]


def selection_text(selected_rows) -> tuple[str, bool]:
    """(what the form says about the selection, whether the buttons are disabled)."""
    row = _selected(selected_rows)
    if row is None:
        return NO_SELECTION, True
    if outreach_log() is None:
        return UNAVAILABLE.format(reason=unavailable_reason()), True
    closes = pd.Timestamp(row["window_closes"])
    left = int((closes - pd.Timestamp(context.current().dataset.as_of)).days)
    return (f"{row['patient_id']} · waiting for the {row['stage_name']} · window closes {closes:%Y-%m-%d} "
            f"(in {left} days)"), False


def _alert(text: str, colour: str) -> dbc.Alert:
    return dbc.Alert(text, color=colour, className="mb-0 py-2", dismissable=True)


def save_call(selected_rows, coordinator, disposition, note, due, request_id=None):
    """Record one call; returns (feedback, whether the list must refresh).  ``request_id``
    (the form's key) makes a repeated Save of the same call store it once."""
    from database.outreach import OutreachInputError

    row = _selected(selected_rows)
    if row is None:
        return _alert(NO_SELECTION, "warning"), False
    log = outreach_log()
    if log is None:
        return _alert(UNAVAILABLE.format(reason=unavailable_reason()), "danger"), False
    if not disposition:
        return _alert("Choose the outcome of the call before saving.", "warning"), False
    try:
        stored = log.record_attempt(str(row["patient_id"]), disposition, note=note or None, due=due or None,
                                    coordinator=coordinator or None, awaited_stage=str(row["awaiting_stage"]),
                                    decision_date=pd.Timestamp(row["decision_date"]).date(),
                                    request_id=request_id)
    except OutreachInputError as error:
        return _alert(f"Not saved: {error}.", "warning"), False
    except _unavailable_error() as error:
        return _alert(UNAVAILABLE.format(reason=str(error)), "danger"), False
    access_scope.audit("outreach_write", "/worklist", [str(row["patient_id"])])
    label = DISPOSITION_LABELS[disposition]
    if stored.replayed:
        return _alert(f"Already saved: {row['patient_id']} · {label} (stored once).", "info"), False
    return _alert(f"Saved: {row['patient_id']} · {label}.", "success"), True


def assign_to(selected_rows, coordinator):
    """Make the coordinator the owner of the selected patient; returns (feedback, refresh)."""
    from database.outreach import OutreachInputError

    row = _selected(selected_rows)
    if row is None:
        return _alert(NO_SELECTION, "warning"), False
    if not coordinator:
        return _alert("Enter your name as coordinator first.", "warning"), False
    log = outreach_log()
    if log is None:
        return _alert(UNAVAILABLE.format(reason=unavailable_reason()), "danger"), False
    try:
        log.assign(str(row["patient_id"]), coordinator, awaited_stage=str(row["awaiting_stage"]),
                   decision_date=pd.Timestamp(row["decision_date"]).date())
    except OutreachInputError as error:
        return _alert(f"Not assigned: {error}.", "warning"), False
    except _unavailable_error() as error:
        return _alert(UNAVAILABLE.format(reason=str(error)), "danger"), False
    access_scope.audit("outreach_write", "/worklist", [str(row["patient_id"])])
    return _alert(f"{row['patient_id']} is now {coordinator}'s.", "success"), True


def update_selection(selected_rows) -> tuple:
    access_scope.require_patient_level()
    text, disabled = selection_text(selected_rows)
    return text, disabled, disabled


def new_request_key(*_changes) -> str:
    """A fresh key for the call being entered: the patient or a field of the form changed."""
    return uuid.uuid4().hex


def update_team_summary(_refreshes) -> list[dict]:
    access_scope.require_patient_level()
    return team_rows()


def act(save_clicks, assign_clicks, selected_rows, coordinator, disposition, note, due, refreshes, request_key=None):
    """The Save / Take on buttons: one callback, so both refresh the list the same way."""
    access_scope.require_patient_level()
    refreshes = number_or_none(refreshes, "worklist refresh counter")
    if ctx.triggered_id == ids.OUTREACH_ASSIGN:
        feedback, changed = assign_to(selected_rows, coordinator)
    else:
        feedback, changed = save_call(selected_rows, coordinator, disposition, note, due, request_key)
    return feedback, ((refreshes or 0) + 1) if changed else no_update


# --- Team summary -------------------------------------------------------------------

def team_rows(days: int = TEAM_SUMMARY_DAYS) -> list[dict]:
    """Calls over the last ``days`` days per coordinator and per site (the patient's home site):
    calls, calls a day, reach rate and rebooked share."""
    log = outreach_log()
    if log is None:
        return []
    sites = context.current().cohort_frame.set_index("patient_id")["site"]
    try:
        summary = log.team_summary(days=days, sites=sites)
    except _unavailable_error():
        return []
    if summary.empty:
        return []
    rows = []
    for key, label in (("coordinator", "Coordinator"), ("site", "Site")):
        grouped = summary.groupby(key).agg(attempts=("attempts", "sum"), reached=("reached", "sum"),
                                           rebooked=("rebooked", "sum"), days=("day", "nunique"))
        for name, group in grouped.iterrows():
            rows.append({"group": f"{label}: {name}", "attempts": int(group["attempts"]),
                         "per_day": float(group["attempts"]) / max(int(group["days"]), 1),
                         "reach_rate": float(group["reached"]) / float(group["attempts"]),
                         "rebooked_share": float(group["rebooked"]) / float(group["attempts"])})
    return rows


def register_callbacks(app: Dash) -> None:
    app.callback(
        Output(ids.OUTREACH_PATIENT, "children"),
        Output(ids.OUTREACH_SAVE, "disabled"),
        Output(ids.OUTREACH_ASSIGN, "disabled"),
        Input(ids.WORKLIST_GRID, "selectedRows"),
    )(update_selection)
    app.callback(
        Output(ids.OUTREACH_FEEDBACK, "children"),
        Output(ids.WORKLIST_REFRESH, "data"),
        Input(ids.OUTREACH_SAVE, "n_clicks"),
        Input(ids.OUTREACH_ASSIGN, "n_clicks"),
        State(ids.WORKLIST_GRID, "selectedRows"),
        State(ids.OUTREACH_COORDINATOR, "value"),
        State(ids.OUTREACH_DISPOSITION, "value"),
        State(ids.OUTREACH_NOTE, "value"),
        State(ids.OUTREACH_DUE, "date"),
        State(ids.WORKLIST_REFRESH, "data"),
        State(ids.OUTREACH_REQUEST_KEY, "data"),
        prevent_initial_call=True,
    )(act)
    app.callback(
        Output(ids.OUTREACH_REQUEST_KEY, "data"),
        Input(ids.WORKLIST_GRID, "selectedRows"),
        Input(ids.OUTREACH_COORDINATOR, "value"),
        Input(ids.OUTREACH_DISPOSITION, "value"),
        Input(ids.OUTREACH_NOTE, "value"),
        Input(ids.OUTREACH_DUE, "date"),
    )(new_request_key)
    app.callback(
        Output(ids.TEAM_SUMMARY_GRID, "rowData"),
        Input(ids.WORKLIST_REFRESH, "data"),
    )(update_team_summary)
