"""Keeps the cohort filter panel, the cohort store and the URL query string in step.

Flow: URL (load, back/forward, a shared link) -> controls -> canonical query in
``ids.COHORT_QUERY`` -> pages' callbacks. The store's query is written back into the
address bar by a clientside ``history.replaceState``: writing ``dcc.Location.search``
instead would make Dash Pages re-render the whole page on every filter change.
"""
from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import parse_qs, parse_qsl

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, html, no_update

from callbacks import access_scope, context
from callbacks.worklist import CAPACITY_KEY, SORT_KEY
from data.analytics.sankey_nodes import node_labels
from data.analytics.variants import code_for_key, variant_label
from data.cohort_filter import (AGE_BOUNDS, AGE_KEY, CHOICE_FIELDS, ENROLLED_FROM_KEY, ENROLLED_TO_KEY, NODE_KEY,
                                VARIANT_KEY, CohortFilter, from_controls, selection_of, to_controls, to_query,
                                with_selection)
from data.input_errors import text_or_none
from components import ids
from components.layout import HIDDEN, NAV_PAGES, PATIENT_LEVEL_PAGES
from components.selection_chips import chip

# URL keys that belong to one page rather than to the cohort.
PAGE_QUERY_KEYS = (CAPACITY_KEY, SORT_KEY)
# Keys a page reads itself (the Patient page's ?id=): never reported as ignored.
OTHER_PAGE_KEYS = ("id",)
COHORT_KEYS = {f.query_key: f.attribute for f in CHOICE_FIELDS}

# The panel's controls and their properties, in data.cohort_filter.CONTROL_ORDER.
CONTROLS = (
    (ids.FILTER_PROGRAM, "value"),
    (ids.FILTER_AGE, "value"),
    (ids.FILTER_SEX, "value"),
    (ids.FILTER_RACE_ETHNICITY, "value"),
    (ids.FILTER_PAYER, "value"),
    (ids.FILTER_REGION, "value"),
    (ids.FILTER_SITE, "value"),
    (ids.FILTER_ENROLLMENT, "start_date"),
    (ids.FILTER_ENROLLMENT, "end_date"),
    (ids.FILTER_RISK_TIER, "value"),
)


def controls_update(search: str | None, reset: bool, current_values) -> tuple:
    """The control values for the URL's filter (or for everyone, on Reset).

    Returns no_update when the controls already show that filter, so navigating
    between pages (whose links carry the query) does not recompute anything.
    """
    target = CohortFilter() if reset else context.cohort_filter(search)
    # The chart selection has no control; it lives in its own store (selection_update).
    if from_controls(*current_values) == replace(target, variant=None, node=None):
        return (no_update,) * len(CONTROLS)
    return to_controls(target)


def controls_from_url(search: str | None, reset_clicks, *current_values) -> tuple:
    return controls_update(search, ctx.triggered_id == ids.FILTER_RESET, current_values)


def _age_problem(value: str, kept: CohortFilter) -> str | None:
    low, _, high = value.partition("-")
    try:
        ages = [int(part) for part in (low, high) if part]
    except ValueError:
        return f"not an age range (use e.g. {AGE_BOUNDS[0]}-65)"
    if not ages:
        return f"not an age range (use e.g. {AGE_BOUNDS[0]}-65)"
    youngest, oldest = AGE_BOUNDS
    full_range = int(low or youngest) <= youngest and int(high or oldest) >= oldest  # clipped to no restriction
    if kept.age_min is None and kept.age_max is None and not full_range:
        return "this data records no usable age"
    return None


def dropped_parameters(search: str | None, kept: CohortFilter) -> list[tuple[str, str]]:
    """(parameter as written, why it was ignored) for each part of a link's query that the
    cohort filter ``kept`` (what context.cohort_filter made of it) does not carry: unknown
    keys, values the data does not have, ages and dates that do not parse."""
    canonical = parse_qs(to_query(kept).lstrip("?"))
    dropped = []
    for key, value in parse_qsl((search or "").lstrip("?"), keep_blank_values=True):
        written = f"{key}={value}"
        if key in PAGE_QUERY_KEYS or key in OTHER_PAGE_KEYS:
            continue
        if key in COHORT_KEYS:
            if value not in canonical.get(key, []):
                dropped.append((written, f"no {key} “{value}” in this data"))
        elif key == AGE_KEY:
            problem = _age_problem(value, kept)
            if problem:
                dropped.append((written, problem))
        elif key in (VARIANT_KEY, NODE_KEY):
            if value not in canonical.get(key, []):
                dropped.append((written, f"no {key} “{value}” in this pathway"))
        elif key in (ENROLLED_FROM_KEY, ENROLLED_TO_KEY):
            if not canonical.get(key):
                dropped.append((written, "not a date (use YYYY-MM-DD)"))
        else:
            dropped.append((written, "not a filter CarePath knows"))
    return dropped


def url_notice(search: str | None):
    """A dismissable notice naming the parameters of the link that were ignored, or None."""
    dropped = dropped_parameters(search, context.cohort_filter(search))
    if not dropped:
        return None
    items = [html.Li([html.Code(written), f": {why}"]) for written, why in dropped]
    return dbc.Alert([html.Strong("Part of this link was ignored; the page shows the cohort without it."),
                      html.Ul(items, className="mb-0")],
                     color="warning", dismissable=True, className="mb-3 url-notice")


def query_from_controls(*values) -> str:
    return to_query(from_controls(*values))


def query_from_panel(*values) -> str:
    """The canonical query of the controls (CONTROL_ORDER) and, last, the chart selection store."""
    *controls, selection = values
    return to_query(with_selection(from_controls(*controls), selection, context.pathway()))


def selection_update(search: str | None, reset: bool, removed: str | None, current: dict | None):
    """The chart selection for the URL's query, cleared on Reset, less a chip's key when removed."""
    if reset:
        return {}
    if removed:
        return {key: value for key, value in (current or {}).items() if key != removed}
    target = selection_of(context.cohort_filter(search))
    return no_update if target == (current or {}) else target


def selection_from_url(search, reset_clicks, chip_clicks, current) -> dict:
    triggered = ctx.triggered_id
    removed = None
    if isinstance(triggered, dict) and triggered.get("type") == ids.FILTER_CHIP_REMOVE:
        # A chip appearing also "triggers" with n_clicks 0: only a real click removes it.
        if not any(t["value"] for t in ctx.triggered):
            return no_update
        removed = triggered.get("key")
    return selection_update(search, triggered == ids.FILTER_RESET, removed, current)


def selection_chip_list(selection: dict | None) -> list:
    """A removable chip per chart selection, in words."""
    pathway = context.pathway()
    selection = selection or {}
    chips = []
    code = code_for_key(selection.get(VARIANT_KEY), pathway)
    if code is not None:
        chips.append(chip(VARIANT_KEY, variant_label(code, pathway)))
    node = node_labels(pathway).get(selection.get(NODE_KEY))
    if node is not None:
        chips.append(chip(NODE_KEY, f"through “{node}”"))
    return chips


def nav_links(pathname: str | None, query: str | None) -> tuple:
    """Each nav link keeps the cohort query (re-written canonically, never echoed as sent),
    the current page's link is active, and the patient-level pages' links are hidden from
    roles that may not open them (the pages answer 403 anyway)."""
    pathname = text_or_none(pathname, "page path", 200)
    query = to_query(context.cohort_filter(query))
    hrefs = tuple(path + query for path, _ in NAV_PAGES)
    active = tuple(pathname == path for path, _ in NAV_PAGES)
    principal = access_scope.current()
    style = {} if principal is not None and principal.sees_patients else HIDDEN
    return hrefs + active + tuple(style for _ in PATIENT_LEVEL_PAGES)


# Replace (not push) the history entry: tweaking a filter should not add Back steps. A page's
# own keys (the Worklist's ranking and capacity) are kept beside the cohort query.
WRITE_QUERY_TO_ADDRESS_BAR = """
function(query) {
    const kept = new URLSearchParams(window.location.search);
    const params = new URLSearchParams((query || "").replace(/^[?]/, ""));
    for (const key of %s) {
        for (const value of kept.getAll(key)) { params.append(key, value); }
    }
    const text = params.toString();
    const search = text ? "?" + text : "";
    if (window.location.search !== search) {
        const url = window.location.pathname + search + window.location.hash;
        window.history.replaceState(window.history.state, "", url);
    }
    return search;
}
""" % json.dumps(list(PAGE_QUERY_KEYS))


def register_callbacks(app: Dash) -> None:
    app.callback(
        [Output(cid, prop) for cid, prop in CONTROLS],
        Input(ids.URL, "search"),
        Input(ids.FILTER_RESET, "n_clicks"),
        [State(cid, prop) for cid, prop in CONTROLS],
    )(controls_from_url)
    app.callback(
        Output(ids.COHORT_QUERY, "data"),
        [Input(cid, prop) for cid, prop in CONTROLS] + [Input(ids.FILTER_SELECTION, "data")],
    )(query_from_panel)
    app.callback(
        Output(ids.FILTER_SELECTION, "data"),
        Input(ids.URL, "search"),
        Input(ids.FILTER_RESET, "n_clicks"),
        Input({"type": ids.FILTER_CHIP_REMOVE, "key": ALL}, "n_clicks"),
        State(ids.FILTER_SELECTION, "data"),
    )(selection_from_url)
    app.callback(
        Output(ids.FILTER_CHIPS, "children"),
        Input(ids.FILTER_SELECTION, "data"),
    )(selection_chip_list)
    app.callback(
        [Output(ids.NAV_LINKS[path], "href") for path, _ in NAV_PAGES]
        + [Output(ids.NAV_LINKS[path], "active") for path, _ in NAV_PAGES]
        + [Output(ids.NAV_LINKS[path], "style") for path in PATIENT_LEVEL_PAGES],
        Input(ids.URL, "pathname"),
        Input(ids.COHORT_QUERY, "data"),
    )(nav_links)
    app.callback(Output(ids.URL_NOTICE, "children"), Input(ids.URL, "search"))(url_notice)
    app.clientside_callback(
        WRITE_QUERY_TO_ADDRESS_BAR,
        Output(ids.URL_WRITTEN, "data"),
        Input(ids.COHORT_QUERY, "data"),
    )
