"""The app's own "page not found" (inside the shell, as a Dash Pages not-found page) and
"link too long" pages, instead of Dash's bare heading and gunicorn's bare "URI Too Long".

Limits (docs/api.md, "Link length"): gunicorn reads request lines up to 8,190 bytes
(``--limit-request-line 8190`` in scripts/serve.sh, its maximum) and answers longer ones
with its own bare 414; below that the app answers a query string longer than
MAX_QUERY_CHARS with a styled 414 page. A cohort link is far shorter: every filter
value of the default data selected at once is about 400 characters.
"""
from __future__ import annotations

from html import escape

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import Flask, request

from components.layout import NAV_PAGES

MAX_QUERY_CHARS = 4096
NOT_FOUND_PATH = "/404"


def not_found_layout(**_query) -> html.Div:
    """Shown inside the app's shell for any path that is not a page."""
    links = [html.Li(dcc.Link(label, href=path)) for path, label in NAV_PAGES]
    return html.Div([
        html.H1("Page not found", className="page-title"),
        dbc.Alert(["There is no CarePath page at this address. It may have been mistyped, or come from an "
                   "older link. The filters on the left still apply to any page you open."], color="warning"),
        html.P("CarePath's pages:"),
        html.Ul(links, className="not-found-links"),
    ], className="not-found")


def link_too_long_page(path: str, query_chars: int) -> str:
    """A stand-alone HTML page (the Dash app cannot render for a refused request) in the app's style."""
    safe_path = escape(path or "/", quote=True)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CarePath · Link too long</title>
<link rel="stylesheet" href="/assets/bootstrap.min.css"><link rel="stylesheet" href="/assets/carepath.css"></head>
<body><nav class="navbar navbar-dark bg-dark mb-3"><div class="container-fluid">
<a class="navbar-brand brand" href="/">CarePath</a></div></nav>
<main class="container" style="max-width: 48rem">
<h1 class="page-title">Link too long</h1>
<div class="alert alert-warning">This link's filter part is {query_chars:,} characters long; CarePath accepts up to
{MAX_QUERY_CHARS:,}. A link made by the app is far shorter, so this one was probably cut, pasted twice or
built by a script.</div>
<p><a class="btn btn-primary" href="{safe_path}">Open the same page without filters</a>
<a class="btn btn-link" href="/">Go to the Overview</a></p>
</main></body></html>"""


def _refuse_long_queries(server: Flask) -> None:
    def link_length_guard():
        query_chars = len(request.query_string)
        if query_chars > MAX_QUERY_CHARS:
            return link_too_long_page(request.path, query_chars), 414, {"Content-Type": "text/html; charset=utf-8"}
        return None

    # Ahead of the sign-in gate: its redirect to /login would carry the whole link along.
    server.before_request_funcs.setdefault(None, []).insert(0, link_length_guard)


def register_error_pages(app: dash.Dash) -> None:
    """The styled 404 (a Dash Pages not-found page: its module name must end in
    ``not_found_404``) and the 414 guard on the Flask server."""
    dash.register_page(f"{__name__}.not_found_404", path=NOT_FOUND_PATH, name="Page not found",
                       title="CarePath · Page not found", layout=not_found_layout)
    _refuse_long_queries(app.server)
