"""Admin audit report page callbacks: the audit trail filtered by user, action and dates,
newest first, with the chain's verification on top."""
from __future__ import annotations

import datetime as dt

from dash import Dash, Input, Output

from callbacks import access_scope
from components import ids

REPORT_ROWS = 5000  # newest first; the CLI (python -m app.audit report) gives everything

_trail = None  # a function returning the AuditTrail, set by register_callbacks


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def audit_view(username, action, since, until) -> tuple[str, list[dict]]:
    """(the summary line, the grid rows)."""
    if access_scope.current() is None or access_scope.current().role != access_scope.ADMIN:
        raise access_scope.forbidden()
    trail = _trail()
    rows = trail.rows(username=(username or "").strip() or None, action=action or None, since=_date(since),
                       until=_date(until), limit=REPORT_ROWS)
    check = trail.verify()
    state = (f"Chain intact: {check.rows:,} events verified." if check.ok
             else f"CHAIN BROKEN at event {check.first_broken_id}: {check.reason}.")
    grid = [{"id": r.id, "at": r.at[:19].replace("T", " "), "username": r.username, "role": r.role,
             "action": r.action, "page": r.page, "patients": r.patient_count,
             "patient_ids": ", ".join(r.as_json()["patient_ids"][:20])
             + (" …" if r.patient_count > 20 else "")} for r in rows]
    shown = f"Showing {len(grid):,} events" + (f" (newest {REPORT_ROWS:,})" if len(grid) == REPORT_ROWS else "")
    return f"{state} {shown}.", grid


def update_audit(username, action, since, until):
    return audit_view(username, action, since, until)


def register_callbacks(app: Dash, trail) -> None:
    """``trail()`` gives the database.audit.AuditTrail (opened on use)."""
    global _trail
    _trail = trail
    app.callback(
        Output(ids.AUDIT_SUMMARY, "children"),
        Output(ids.AUDIT_GRID, "rowData"),
        Input(ids.AUDIT_USER, "value"),
        Input(ids.AUDIT_ACTION, "value"),
        Input(ids.AUDIT_DATES, "start_date"),
        Input(ids.AUDIT_DATES, "end_date"),
    )(update_audit)
