"""The check every request passes before Flask or Dash handles it: who is it, may they?"""
from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import Response, g, jsonify, redirect, request, session

from app.access import policy
from app.access.principal import principal_for
from app.access.store import AccessUnavailable
from callbacks.access_scope import ADMIN

SESSION_USER = "uid"


def forbidden() -> Response:
    """403 and nothing else: no data, no hint what the data would have been."""
    return Response("Forbidden\n", status=403, mimetype="text/plain")


def unauthenticated(path: str):
    if policy.is_machine(path) or request.headers.get("Authorization"):
        response = jsonify(error="sign in required: a session cookie or 'Authorization: Bearer TOKEN'")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="CarePath"'
        return response
    target = request.full_path if request.query_string else request.path
    return redirect(f"/login?next={quote(target, safe='/?=&')}")


def safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or scheme://host) is followed after signing in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def _same_origin() -> bool:
    """A cookie-authenticated write must come from this site's own pages (SameSite=Lax is the
    first defence; the Origin header the second)."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


def unavailable(reason: str):
    response = jsonify(error=reason)
    response.status_code = 503
    response.headers["Retry-After"] = "30"
    return response


def make_gate(lazy_store):
    def gate():
        path = request.path
        if policy.is_public(path):
            return None
        try:
            store = lazy_store.get()
        except AccessUnavailable as error:  # nobody can be recognised: serve nothing protected
            return unavailable(str(error))
        principal = None
        authorization = request.headers.get("Authorization", "")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            user = store.users.user_for_token(token.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                return unauthenticated(path)
            principal = principal_for(user, "token")
        elif SESSION_USER in session:
            user = store.users.by_id(session[SESSION_USER])
            if user is None or not user.active:  # deleted or deactivated since signing in
                session.clear()
                return unauthenticated(path)
            principal = principal_for(user, session.get("via", "session"))
            if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin():
                return forbidden()
        if principal is None:
            return unauthenticated(path)
        g.carepath_principal = principal
        needs = policy.page_needs(path) if request.method == "GET" else None
        if path == "/_dash-update-component":
            needs = policy.callback_needs(request.get_json(silent=True))
        elif path.startswith("/api/"):
            needs = "patient"  # the JSON API serves the worklist and the outreach log only
        if needs == "admin" and principal.role != ADMIN:
            return forbidden()
        if needs == "patient" and not principal.sees_patients:
            return forbidden()
        return None

    return gate
