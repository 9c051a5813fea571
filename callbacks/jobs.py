"""Background jobs (app.background runs them): who asked, and how far they have got.

A job runs outside any request, in a process of its own. It learns who started it from the
data Dash hands it from the starting request's server side (a ``custom_data`` hook in
app.background reads the signed-in principal there); never from what the browser sends. A
job that cannot tell who asked refuses, rather than run unrestricted.
"""
from __future__ import annotations

from collections.abc import Callable

from dash import callback_context

from callbacks import access_scope
from callbacks.access_scope import Principal

PRINCIPAL_NAMESPACE = "carepath_principal"


def requester() -> Principal:
    """The user whose request started the running job; 403 when the job carries none."""
    try:
        data = (callback_context.custom_data or {}).get(PRINCIPAL_NAMESPACE)
    except Exception:  # noqa: BLE001 - no callback context at all: nobody to act for
        data = None
    if not isinstance(data, dict) or not data.get("username") or not data.get("role"):
        raise access_scope.forbidden()
    sites = data.get("sites")
    return Principal(username=str(data["username"]), role=str(data["role"]),
                     sites=None if sites is None else tuple(str(site) for site in sites),
                     via=str(data.get("via") or "session"))


def run_as_requester(work: Callable, *args, **kwargs):
    """``work(*args, **kwargs)`` as the job's requester: scoped and audited as their request."""
    with access_scope.acting_as(requester()):
        return work(*args, **kwargs)


def progress_label(done: int, total: int, what: str) -> str:
    return f"{what}: {done} of {total}"
