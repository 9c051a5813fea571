"""The app's HTTP surface, hardened: body-size limit, trusted hosts, callback input checks,
security headers and a last-resort error guard. ``install(app, settings)`` wires it all.

What each piece answers (docs/operations.md):
- a body over ``settings.max_request_bytes`` (declared or chunked) -> 413;
- a Host header not in ``settings.trusted_hosts`` -> 400;
- a ``/_dash-update-component`` body that is not JSON, too deep, not the shape Dash sends, or
  names no registered callback -> 400; a callback input a parser refuses (data.input_errors.
  InvalidInput) -> 400 with its message;
- any other exception -> 500 with a generic message; the log gets the exception's type and
  the place it was raised, never its message or the request (they may hold patient data).
"""
from __future__ import annotations

import json
import logging
import traceback

import dash
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from data.input_errors import InvalidInput
from data.settings import Settings

logger = logging.getLogger("carepath.http")

CALLBACK_PATH = "/_dash-update-component"
# Dash's own callback payloads nest a few levels (grid rows inside inputs inside the body);
# nothing legitimate comes near this.
MAX_JSON_DEPTH = 32
# Cacheable everywhere: the renderer, component bundles and our assets hold no patient data.
STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/", "/_favicon.ico")
# Config keys of Dash's front end that only tell an attacker which versions to target.
VERSION_CONFIG_KEYS = ("python_version", "ddk_version")


def _error(status: int, message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    return response


# ---------------------------------------------------------------- request body
def _read_limited_body(limit: int) -> bytes:
    """The body, refused with 413 once it passes ``limit`` bytes, declared or not (chunked
    bodies carry no Content-Length, so Flask's MAX_CONTENT_LENGTH check alone misses them)."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    body = request.get_data(cache=True)
    if len(body) > limit:
        raise RequestEntityTooLarge()
    return body


def nests_deeper_than(value, limit: int) -> bool:
    """Whether lists and objects in a parsed JSON value nest deeper than ``limit`` (walked
    without recursion; only containers are visited, so a big flat body costs little)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _check_dependency_list(items, key: str, expected: int) -> str | None:
    if not isinstance(items, list):
        return f"'{key}' must be a list"
    if len(items) != expected:
        return f"'{key}' must list {expected} values for this callback, not {len(items)}"
    for item in items:
        entries = item if isinstance(item, list) else [item]  # pattern-matching inputs: a list each
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("property"), str) \
                    or not isinstance(entry.get("id"), (str, dict)):
                return f"each of '{key}' must be an object with an 'id' and a 'property'"
    return None


def callback_body_problem(body, callback_map: dict) -> str | None:
    """What is wrong with a parsed ``/_dash-update-component`` body, or None when it has the
    shape Dash's renderer sends for a registered callback."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        return "'output' names no callback of this app"
    callback = callback_map[output]
    problem = (_check_dependency_list(body.get("inputs"), "inputs", len(callback.get("inputs", [])))
               or _check_dependency_list(body.get("state", []), "state", len(callback.get("state", []))))
    if problem:
        return problem
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(item, str) for item in changed):
        return "'changedPropIds' must be a list of text"
    if "outputs" in body and not isinstance(body["outputs"], (list, dict)):
        return "'outputs' must be a list or an object"
    return None


def _guard_callback_body(app: dash.Dash, limit: int):
    body = _read_limited_body(limit)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _error(400, "The callback request is not UTF-8 JSON.")
    try:
        parsed = json.loads(text)
    except RecursionError:  # json's decoder recurses: a 100,000-deep body ends here
        return _error(400, f"The callback request nests deeper than {MAX_JSON_DEPTH} levels.")
    except ValueError:
        return _error(400, "The callback request is not valid JSON.")
    if isinstance(parsed, (dict, list)) and nests_deeper_than(parsed, MAX_JSON_DEPTH):
        return _error(400, f"The callback request nests deeper than {MAX_JSON_DEPTH} levels.")
    problem = callback_body_problem(parsed, app.callback_map)
    if problem:
        return _error(400, f"Malformed callback request: {problem}.")
    return None


# ---------------------------------------------------------------- response headers
def content_security_policy(app: dash.Dash) -> str:
    """A CSP the app's own pages satisfy: scripts only from here, plus Dash's inline scripts
    by hash (the renderer start-up and inline clientside callbacks). Styles need
    'unsafe-inline': Plotly and the grid set style attributes and inject <style> at run time."""
    script_hashes = " ".join(app.csp_hashes())
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' {script_hashes}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def _dash_is_set_up(app: dash.Dash) -> bool:
    """Whether Dash's first-request setup (``Dash._setup_server``) has run."""
    return bool(getattr(app, "_got_first_request", {}).get("setup_server"))


def _security_headers(response: Response, csp: str) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", csp)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if not request.path.startswith(STATIC_PREFIXES):
        # Pages, callbacks and the API may carry patient data: never kept by a browser or proxy.
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
        headers.pop("ETag", None)
    return response


def _hide_versions(app: dash.Dash) -> None:
    """Dash writes the Python version into every page's config; drop it (and its kin)."""
    original = app._config

    def config_without_versions():
        config = original()
        for key in VERSION_CONFIG_KEYS:
            config.pop(key, None)
        return config

    app._config = config_without_versions


# ---------------------------------------------------------------- errors
def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "unknown place"
    last = frames[-1]
    return f"{'/'.join(last.filename.rsplit('/', 2)[-2:])}:{last.lineno}"


def _register_error_handlers(server: Flask) -> None:
    @server.errorhandler(InvalidInput)
    def _invalid_input(error: InvalidInput):
        return _error(400, f"Invalid input: {error}.")

    @server.errorhandler(RequestEntityTooLarge)
    def _too_large(_error_):
        limit = server.config.get("CAREPATH_MAX_REQUEST_BYTES")
        return _error(413, f"Request body too large (the limit is {limit:,} bytes, CAREPATH_MAX_REQUEST_BYTES).")

    @server.errorhandler(Exception)
    def _last_resort(error: Exception):
        if isinstance(error, HTTPException):
            if error.response is not None:  # a deliberate answer (e.g. app.access's bare 403): as built
                return error.response
            if request.path.startswith("/api/") or request.path == CALLBACK_PATH:
                return _error(error.code or 500, error.description or error.name)
            return error
        # Type and place only: an exception's message may quote patient data, the request too.
        logger.error("unhandled %s at %s while serving %s %s", type(error).__name__, _where(error),
                     request.method, request.path)
        return _error(500, "Internal error: the request could not be completed. It has been logged.")


# ---------------------------------------------------------------- wiring
def install(app: dash.Dash, settings: Settings) -> None:
    """Harden ``app``'s HTTP surface with the limits and hosts in ``settings``."""
    server = app.server
    limit = settings.max_request_bytes
    # One byte more than allowed: Werkzeug silently truncates a chunked body (no declared
    # length) at MAX_CONTENT_LENGTH, so reading one byte past the limit is how to tell.
    server.config["MAX_CONTENT_LENGTH"] = limit + 1
    server.config["CAREPATH_MAX_REQUEST_BYTES"] = limit
    server.config["TRUSTED_HOSTS"] = None if "*" in settings.trusted_hosts else list(settings.trusted_hosts)
    _hide_versions(app)
    _register_error_handlers(server)

    def _limit_and_validate():
        if request.path == CALLBACK_PATH and request.method == "POST":
            return _guard_callback_body(app, limit)
        if request.method in ("POST", "PUT", "PATCH"):
            _read_limited_body(limit)
        return None

    # First in line, ahead of the sign-in gate (app.access), which reads callback bodies to
    # decide what they need: a body too large, too deep or malformed never reaches it.
    server.before_request_funcs.setdefault(None, []).insert(0, _limit_and_validate)

    csp: dict[str, str] = {}

    @server.after_request
    def _headers(response: Response) -> Response:
        # Kept once Dash has set itself up (its first-request setup registers the Pages
        # clientside callback, whose inline script needs a hash too). A request refused before
        # that setup ran (the sign-in redirect, a 413) gets the policy of the moment, uncached.
        if "policy" in csp:
            return _security_headers(response, csp["policy"])
        policy = content_security_policy(app)
        if _dash_is_set_up(app):
            csp["policy"] = policy
        return _security_headers(response, policy)
