"""The sign-in page (/login), sign-out (/logout) and the optional OpenID Connect sign-in."""
from __future__ import annotations

import hmac
import secrets

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template_string,
    request,
    session,
)

from app.access.gate import SESSION_USER, safe_next
from app.access.ratelimit import SignInLimiter
from app.access.store import AccessUnavailable

CSRF_KEY = "csrf"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>CarePath · {{ title }}</title>
<link rel="stylesheet" href="/assets/bootstrap.min.css"><link rel="stylesheet" href="/assets/login.css">
</head><body class="login-body">
<main class="login-card">
  <h1 class="login-brand">CarePath</h1>
  <p class="login-lead">{{ lead }}</p>
  {% if error %}<div class="alert alert-danger py-2" role="alert">{{ error }}</div>{% endif %}
  {% if notice %}<div class="alert alert-info py-2" role="status">{{ notice }}</div>{% endif %}
  {% if form == "login" %}
  <form method="post" action="/login" autocomplete="on">
    <input type="hidden" name="csrf_token" value="{{ csrf }}"><input type="hidden" name="next" value="{{ next }}">
    <label class="form-label" for="username">User name</label>
    <input class="form-control mb-3" id="username" name="username" autocomplete="username" required autofocus
           value="{{ username }}">
    <label class="form-label" for="password">Password</label>
    <input class="form-control mb-3" id="password" name="password" type="password" autocomplete="current-password"
           required>
    <button class="btn btn-primary w-100" type="submit">Sign in</button>
  </form>
  {% if oidc %}<a class="btn btn-outline-secondary w-100 mt-3" href="/auth/oidc/start?next={{ next|urlencode }}">
    Sign in with your organisation</a>{% endif %}
  {% else %}
  <form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{{ csrf }}">
    <button class="btn btn-primary w-100" type="submit">Sign out</button></form>
  <a class="d-block text-center mt-3" href="/">Back to CarePath</a>
  {% endif %}
  <p class="login-foot">Access to patient data is recorded in the audit trail.</p>
</main></body></html>"""


def csrf_token() -> str:
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(32)
    return session[CSRF_KEY]


def _check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent, session.get(CSRF_KEY, "")):
        abort(Response("The sign-in form expired or came from another site: reload the page and try again.\n",
                       status=400, mimetype="text/plain"))


def _page(status: int = 200, **values):
    defaults = {"title": "Sign in", "lead": "Sign in to see your patients and reports.", "error": None,
                "notice": None, "form": "login", "next": "/", "username": "", "oidc": False}
    defaults.update(values)
    response = Response(render_template_string(PAGE, csrf=csrf_token(), **defaults), status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def start_session(user_id: int, via: str) -> None:
    session.clear()  # a fresh session (and CSRF token) after signing in: no fixation
    session[SESSION_USER] = user_id
    session["via"] = via
    session.permanent = True


def make_blueprint(store, limiter: SignInLimiter, oidc=None) -> Blueprint:
    views = Blueprint("carepath_access", __name__)

    @views.get("/login")
    def login_form():
        return _page(next=safe_next(request.args.get("next")), oidc=oidc is not None,
                     notice="You are signed out." if request.args.get("signed_out") else None)

    @views.post("/login")
    def login():
        _check_csrf()
        username = request.form.get("username", "").strip()[:128]
        password = request.form.get("password", "")
        target = safe_next(request.form.get("next"))
        keys = (f"user:{username.lower()}", f"addr:{request.remote_addr}")
        wait = limiter.retry_after(*keys)
        if wait:
            response = _page(429, error=f"Too many failed sign-ins. Try again in {wait // 60 + 1} minutes.",
                             next=target, username=username, oidc=oidc is not None)
            response.headers["Retry-After"] = str(wait)
            return response
        try:
            users = store.get().users
        except AccessUnavailable as error:
            return _page(503, error=str(error), next=target, username=username, oidc=oidc is not None)
        user = users.verify_password(username, password) if username and password else None
        if user is None:
            limiter.failed(*keys)
            return _page(401, error="That user name and password do not match an active account.", next=target,
                         username=username, oidc=oidc is not None)
        limiter.succeeded(keys[0])
        start_session(user.id, "session")
        return redirect(target)

    @views.get("/logout")
    def logout_form():
        return _page(title="Sign out", lead="Sign out of CarePath on this browser?", form="logout")

    @views.post("/logout")
    def logout():
        _check_csrf()
        session.clear()
        return redirect("/login?signed_out=1")

    if oidc is not None:
        oidc.add_routes(views, store)
    return views
