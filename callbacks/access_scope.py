"""Who is asking, in a callback: their role and sites, set by app.access for every request.

Callbacks ask this module whether the user may see patient-level data, which sites they
may see, and whether small counts must be suppressed; and they record audit events through
it. Outside a request (the CLIs, unit tests calling a view function) there is no user and
nothing is restricted; every HTTP request has one, because app.access refuses it otherwise.
A background job (callbacks.jobs) runs outside any request, as the user who started it
(``acting_as``): restricted and audited as that request would have been.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import pandas as pd
from flask import Response, g, has_request_context
from werkzeug.exceptions import Forbidden

ANALYST, COORDINATOR, ADMIN = "analyst", "coordinator", "admin"
PATIENT_LEVEL_ROLES = (COORDINATOR, ADMIN)


@dataclass(frozen=True)
class Principal:
    username: str
    role: str
    sites: tuple[str, ...] | None = None  # None: every site (admin); () for analysts
    via: str = "session"  # session, token or oidc

    @property
    def sees_patients(self) -> bool:
        return self.role in PATIENT_LEVEL_ROLES

    @property
    def scope_key(self) -> str:
        """What a cached result may depend on: role and sites, never the person."""
        return f"{self.role}:{'*' if self.sites is None else ','.join(sorted(self.sites))}"


def forbidden() -> Forbidden:
    """403 and nothing else (raised from a callback, Flask answers with exactly this)."""
    return Forbidden(response=Response("Forbidden\n", status=403, mimetype="text/plain"))


_UNRESTRICTED = Principal("(no request)", ADMIN, None, "internal")
_audit_recorder: Callable | None = None
# The user a background job runs for (no request context there to carry one).
_job_principal: ContextVar[Principal | None] = ContextVar("carepath_job_principal", default=None)


@contextmanager
def acting_as(principal: Principal):
    """Within the block (a background job), ``current()`` is ``principal`` and audits record them."""
    token = _job_principal.set(principal)
    try:
        yield principal
    finally:
        _job_principal.reset(token)


def set_audit_recorder(recorder: Callable | None) -> None:
    """app.access installs the database recorder; ``recorder(principal, action, page, ids, count)``."""
    global _audit_recorder
    _audit_recorder = recorder


def current() -> Principal | None:
    """The user a background job acts for (``acting_as``); else the signed-in user of this
    request; the unrestricted internal caller outside a request; None inside a request nobody
    signed in to (app.access never lets one reach a callback)."""
    job_principal = _job_principal.get()
    if job_principal is not None:  # first: a job forked mid-request still holds that request's context
        return job_principal
    if not has_request_context():
        return _UNRESTRICTED
    return g.get("carepath_principal")


def scope_key() -> str:
    principal = current()
    return "none" if principal is None else principal.scope_key


def suppresses_small_counts() -> bool:
    principal = current()
    return principal is None or not principal.sees_patients


def require_patient_level() -> Principal:
    principal = current()
    if principal is None or not principal.sees_patients:
        raise forbidden()
    return principal


def allowed_sites() -> tuple[str, ...] | None:
    """None: every site; otherwise the sites whose patients this user may see."""
    principal = require_patient_level()
    return principal.sites


def _site_map() -> pd.Series:
    from callbacks import context

    app_data = context.current()
    cached = getattr(_site_map, "_cache", None)
    if cached is None or cached[0] is not app_data:
        patients = app_data.dataset.patients
        sites = patients["site"] if "site" in patients.columns else pd.Series(None, index=patients.index)
        cached = (app_data, pd.Series(sites.astype(object).to_numpy(), index=patients["patient_id"].astype(str)))
        _site_map._cache = cached
    return cached[1]


def in_scope(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` (a patient_id column) whose patient this user may see."""
    sites = allowed_sites()
    if sites is None or frame.empty:
        return frame
    patient_sites = frame["patient_id"].astype(str).map(_site_map())
    return frame[patient_sites.isin(sites).to_numpy()]


def require_patient(patient_id: str) -> None:
    """403 unless this user may see this patient (unknown ids pass: the page says 'not found')."""
    sites = allowed_sites()
    if sites is None:
        return
    site = _site_map().get(str(patient_id))
    if site is not None and site not in sites:
        raise forbidden()


def audit(action: str, page: str, patient_ids: Iterable = (), count: int | None = None) -> None:
    """Record one access to patient-level data (no-op outside a request and a job)."""
    if (not has_request_context() and _job_principal.get() is None) or _audit_recorder is None:
        return
    principal = current()
    if principal is not None:
        _audit_recorder(principal, action, page, [str(p) for p in patient_ids], count)
