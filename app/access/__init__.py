"""Sign-in, roles and the audit trail: ``register_access(app, settings)`` in create_app.

Built-in users (``python -m app.users``) sign in at /login or send an API token; OpenID
Connect is added when configured. Every request except the sign-in page, /healthz and
static files needs a session or a token; patient-level callbacks, pages and the JSON API
need the coordinator or admin role, the audit report the admin role (app.access.policy).
"""
from __future__ import annotations

import datetime as dt

import dash
from werkzeug.exceptions import ServiceUnavailable

from app.access.gate import make_gate
from app.access.ratelimit import SignInLimiter
from app.access.settings import access_settings, secret_key
from app.access.store import AccessStore, LazyStore
from app.access.views import make_blueprint
from callbacks import access_scope
from data.settings import Settings, get_settings

SIGN_OUT_LINK = '<a class="signout-link btn btn-sm btn-light" href="/logout">Sign out</a>'

_store: LazyStore | None = None


def current_store() -> AccessStore:
    """The users and audit store; AccessUnavailable when its database cannot be reached."""
    if _store is None:
        raise RuntimeError("create_app() has not registered access control yet")
    return _store.get()


def _recorder(store: LazyStore):
    def record(principal, action, page, patient_ids, count):
        try:
            store.get().audit.record(principal.username, principal.role, action, page, patient_ids, count)
        except Exception as error:  # no unrecorded access to patient data: refuse instead
            raise ServiceUnavailable("The audit trail cannot be written, so patient data is not shown.") from error
    return record


def register_access(app: dash.Dash, settings: Settings | None = None, log=print) -> LazyStore:
    global _store
    settings = settings or get_settings()
    access = access_settings()
    server = app.server
    server.config.update(
        SECRET_KEY=secret_key(settings.var_dir, access.secret_key),
        SESSION_COOKIE_NAME="carepath_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=access.cookie_secure,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=access.session_hours),
    )
    _store = store = LazyStore(settings, log)
    oidc = None
    if access.oidc_enabled:
        from app.access.oidc import OidcSignIn

        oidc = OidcSignIn(server, access)
    server.register_blueprint(make_blueprint(store, SignInLimiter(), oidc))
    # First in line: nothing (Dash's own before_request hooks included) runs for a refused request.
    server.before_request_funcs.setdefault(None, []).insert(0, make_gate(store))
    access_scope.set_audit_recorder(_recorder(store))
    from callbacks import audit_report

    audit_report.register_callbacks(app, lambda: store.get().audit)
    app.index_string = app.index_string.replace("{%app_entry%}", SIGN_OUT_LINK + "{%app_entry%}", 1)
    return store
