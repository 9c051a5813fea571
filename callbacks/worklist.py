"""Worklist page callbacks: the cohort's active patients ranked by the coordinator's choice
(expected gain from a call, risk, or deadline), cut to the calling capacity, and the CSV
of exactly the rows the grid shows. The ranking and the capacity live in the URL.

The CSV is a background job (app.background) that rebuilds the rows on the server from the
page's state (cohort, ranking, capacity, the user's sites) and applies the grid's own sort and
filter: the browser never sends the rows back, so a list of any length exports (its rows as
request State hit the request-body limit, CAREPATH_MAX_REQUEST_BYTES, past ~850 rows)."""
from __future__ import annotations

from dataclasses import dataclass

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update

from callbacks import access_scope, analytics, context, jobs
from callbacks.outreach import attempted_today, latest_calls, outreach_log, unavailable_reason, with_calls
from callbacks.overview import EMPTY_COHORT_MESSAGE
from components import formatting, ids
from components.grid_state import sorted_as_grid
from data.cohort_filter import to_query
from data.input_errors import InvalidInput, kind, text_or_none
from components.worklist_table import COLUMNS, export_frame, expected_dropouts, worklist_rows
# The rankings are defined with the query that applies them; re-exported for the page and tests.
from data.warehouse.worklist import DEADLINE, GAIN, RISK, SORTS, ranked  # noqa: F401

ALL = "all"
CAPACITY_CHOICES = (10, 25, 50, 100, ALL)
DEFAULT_CAPACITY = 25

# The Worklist's own URL keys, kept beside the cohort filter's (see callbacks/filter_panel.py).
SORT_KEY, CAPACITY_KEY = "sort", "n"

MODEL_PENDING_MESSAGE = "The dropout-risk model is not available yet, so there is no worklist to show."
NOBODY_IN_PROGRESS_MESSAGE = ("Nobody is in progress at the data's as-of date {as_of}: no patient is waiting for a "
                              "booked diagnosis, treatment or follow-up with the window still open, so there is no "
                              "one to call.")
NO_ACTIVE_MESSAGE = ("Nobody in this cohort is waiting for a booked appointment, so there is no one to call. "
                     "Widen the filters or press Reset.")


@dataclass(frozen=True)
class WorklistView:
    """Everything the Worklist page shows, in the order of the callback's outputs."""

    message: object
    summary: object
    rows: list

    @property
    def body_hidden(self) -> bool:
        """Nobody to list: the message says why, and an empty grid would only add noise."""
        return not self.rows

    def as_outputs(self) -> tuple:
        return self.message, self.body_hidden, self.summary, self.rows


def gain_available() -> bool:
    """Whether the loaded models include the benefit model's expected gain from a call."""
    scores = context.current().risk_scores
    return scores is not None and "expected_gain" in scores.columns and scores["expected_gain"].notna().any()


def sort_choice(value) -> str:
    """A known ranking for ``value`` (from the URL or the control): gain when the benefit
    model exists, else risk; an unknown or unavailable choice falls back to that default.
    A value that is not text at all raises InvalidInput."""
    text_or_none(value, "worklist sort", 40)
    default = GAIN if gain_available() else RISK
    if value == GAIN and not gain_available():
        return default
    return value if value in SORTS else default


def active_patients(cohort_query: str | None, sort: str = RISK) -> pd.DataFrame | None:
    """Scored (in-progress, awaiting a booked stage) patients of the cohort at the user's sites,
    in the order ``sort`` ranks them; None when no model is loaded. The engine filters and ranks
    (data.warehouse.worklist); access_scope restricts the query to the user's sites and checks
    the rows it returns again."""
    scores = context.current().risk_scores
    if scores is None:
        return None
    positions = analytics.worklist(scores, context.cohort_filter(cohort_query), sort, access_scope.allowed_sites())
    return access_scope.in_scope(scores.iloc[positions]).reset_index(drop=True)  # a coordinator's sites only


def capacity_count(capacity) -> int | None:
    """The number of patients to show (None: all). Unknown values fall back to the default;
    a value that is neither a number nor text (a list, an object) raises InvalidInput."""
    if isinstance(capacity, bool) or not isinstance(capacity, (int, float, str, type(None))):
        raise InvalidInput("worklist capacity", f"expected a number or {ALL!r}, got {kind(capacity)}")
    if isinstance(capacity, str) and len(capacity) > 12:
        raise InvalidInput("worklist capacity", "longer than 12 characters")
    if capacity == ALL:
        return None
    try:
        count = int(capacity)
    except (TypeError, ValueError, OverflowError):  # JSON's Infinity overflows int()
        return DEFAULT_CAPACITY
    return count if count > 0 else DEFAULT_CAPACITY


def top_n(active: pd.DataFrame, capacity) -> pd.DataFrame:
    count = capacity_count(capacity)
    return active if count is None else active.head(count)


def summary_text(shown: pd.DataFrame, active: pd.DataFrame, sort: str = RISK) -> str:
    lead = (f"All {formatting.count(len(active))} active patients" if len(shown) == len(active)
            else f"Top {formatting.count(len(shown))} of {formatting.count(len(active))} active patients")
    text = (f"{lead} by {SORTS[sort]}; expected dropouts among them: {expected_dropouts(shown['risk']):,.1f} "
            "(sum of their risks, if nobody intervenes)")
    if "expected_gain" in shown.columns and shown["expected_gain"].notna().any():
        text += (f"; expected extra completions if all are called: "
                 f"{float(shown['expected_gain'].sum(skipna=True)):,.1f}")
    return text + "."


def _summary(shown: pd.DataFrame, active: pd.DataFrame, sort: str) -> html.Div:
    tiers = shown["risk_tier"].value_counts()
    tier_counts = ", ".join(f"{tiers.get(tier, 0)} {tier.lower()}" for tier in ("High", "Medium", "Low"))
    return html.Div([
        html.Span(summary_text(shown, active, sort), className="worklist-summary-main"),
        html.Span(f" Risk tiers shown: {tier_counts}.", className="worklist-summary-tiers"),
    ])


def worklist_view(cohort_query: str | None, capacity=DEFAULT_CAPACITY, sort=None,
                  show_called_today: bool = False) -> WorklistView:
    """Compute the Worklist for the cohort in ``cohort_query``, the calling capacity and the
    ranking. Patients already called today are left out unless ``show_called_today``."""
    sort = sort_choice(sort)
    capacity_count(capacity)  # validated before any work
    # Validated once, and only the canonical form goes on: every row's link carries it, so
    # echoing what the client sent would multiply a long query by the number of rows.
    cohort_query = to_query(context.cohort_filter(cohort_query))
    active = active_patients(cohort_query, sort)
    if active is None:
        reason = context.current().models_unavailable
        return WorklistView(dbc.Alert(reason or MODEL_PENDING_MESSAGE, color="warning" if reason else "info",
                                      className="mb-3"), None, [])
    if active.empty:
        if context.current().risk_scores.empty:  # not the filters: nobody at all is waiting
            text = NOBODY_IN_PROGRESS_MESSAGE.format(as_of=f"{context.current().dataset.as_of:%Y-%m-%d}")
        elif context.cohort_frame(cohort_query).empty:
            text = EMPTY_COHORT_MESSAGE
        else:
            text = NO_ACTIVE_MESSAGE
        return WorklistView(dbc.Alert(text, color="warning", className="mb-3"), None, [])
    latest = latest_calls(active["patient_id"])
    called_today = attempted_today(latest)
    if called_today and not show_called_today:
        active = active[~active["patient_id"].astype(str).isin(called_today)]
    shown = top_n(active, capacity)  # already ranked: leaving out those called today keeps the order
    as_of = context.current().dataset.as_of
    rows = with_calls(worklist_rows(shown, cohort_query, as_of), latest)
    message = None
    if outreach_log() is None:
        message = dbc.Alert(f"Calls cannot be recorded or shown right now: {unavailable_reason()} The ranking "
                            "below still holds.", color="warning", className="mb-3")
    summary = _summary(shown, active, sort)
    if called_today and not show_called_today:
        summary.children.append(html.Span(f" {len(called_today):,} patients called today are not listed.",
                                          className="worklist-summary-called"))
    return WorklistView(message, summary, rows)


def update_worklist(cohort_query: str | None, capacity, sort=None, show_called_today=None, _refreshes=None) -> tuple:
    access_scope.require_patient_level()
    view = worklist_view(cohort_query, capacity, sort, bool(show_called_today))
    access_scope.audit("worklist_view", "/worklist", [row.get("patient_id") for row in view.rows])
    return view.as_outputs()


def initial_controls(query: dict) -> tuple:
    """(capacity, sort) for the page's controls from its URL query parameters."""
    raw_capacity = query.get(CAPACITY_KEY)
    capacity = ALL if raw_capacity == ALL else capacity_count(raw_capacity) if raw_capacity else DEFAULT_CAPACITY
    if capacity not in CAPACITY_CHOICES:
        capacity = DEFAULT_CAPACITY
    return capacity, sort_choice(query.get(SORT_KEY))


# Keep the ranking and the capacity in the address bar (replaceState, like the cohort
# filter), leaving every other parameter as it is.
WRITE_WORKLIST_KEYS_TO_ADDRESS_BAR = f"""
function(capacity, sort) {{
    const params = new URLSearchParams(window.location.search);
    params.set("{CAPACITY_KEY}", String(capacity));
    params.set("{SORT_KEY}", String(sort));
    const search = "?" + params.toString();
    if (window.location.search !== search) {{
        window.history.replaceState(window.history.state, "", window.location.pathname + search + window.location.hash);
    }}
    return search;
}}
"""


def export_filename() -> str:
    return f"carepath-worklist-{context.current().dataset.as_of:%Y-%m-%d}.csv"


GRID_FIELDS = frozenset(field for field, _, _ in COLUMNS)
MAX_FILTERED_IDS = 200_000  # more than any worklist; a longer list is not the grid's


def filtered_ids(ids_shown) -> list[str] | None:
    """The patient ids the grid shows while its column filters hide rows (None: no filter)."""
    if ids_shown is None:
        return None
    if not isinstance(ids_shown, list) or len(ids_shown) > MAX_FILTERED_IDS:
        raise InvalidInput("grid rows shown", f"expected a list of at most {MAX_FILTERED_IDS:,} patient ids, "
                                              f"got {kind(ids_shown)}")
    if not all(isinstance(patient_id, str) and len(patient_id) <= 64 for patient_id in ids_shown):
        raise InvalidInput("grid rows shown", "expected patient ids as text of at most 64 characters")
    return ids_shown


def shown_rows(rows: list[dict], column_state=None, ids_shown=None) -> list[dict]:
    """The rebuilt ``rows`` as the grid shows them: only the ids its filters let through, in
    the order it shows them, when a filter is on (``ids_shown``); otherwise all of them in the
    order of its column sort. An id the server did not rebuild for this user is ignored."""
    ids_shown = filtered_ids(ids_shown)
    if ids_shown is not None:
        by_id = {row["patient_id"]: row for row in rows}
        return [by_id[patient_id] for patient_id in ids_shown if patient_id in by_id]
    return sorted_as_grid(rows, column_state, GRID_FIELDS)


def export_rows(cohort_query: str | None, capacity, sort=None, show_called_today=None, column_state=None,
                ids_shown=None) -> list[dict]:
    """The rows the grid shows, rebuilt on the server for the current user (role and sites checked)."""
    access_scope.require_patient_level()
    view = worklist_view(cohort_query, capacity, sort, bool(show_called_today))
    return shown_rows(view.rows, column_state, ids_shown)


def export_csv(n_clicks, cohort_query: str | None, capacity, sort=None, show_called_today=None, column_state=None,
               ids_shown=None):
    """The CSV download of exactly the rows shown, in the order shown; audited."""
    access_scope.require_patient_level()
    if not n_clicks:
        return no_update
    shown = export_rows(cohort_query, capacity, sort, show_called_today, column_state, ids_shown)
    if not shown:
        return no_update
    access_scope.audit("export", "/worklist", [row["patient_id"] for row in shown])
    return dcc.send_data_frame(export_frame(shown).to_csv, export_filename(), index=False)


NOTHING_TO_EXPORT = "The grid shows no rows, so there is nothing to download."


def export_job(n_clicks, cohort_query, capacity, sort, show_called_today, column_state, ids_shown) -> tuple:
    """The background job behind "Download CSV": (the file, a note) for the user who clicked.
    Bad input gets its message beside the button (the job's errors would reach nobody)."""
    try:
        download = jobs.run_as_requester(export_csv, n_clicks, cohort_query, capacity, sort, show_called_today,
                                         column_state, ids_shown)
    except InvalidInput as error:
        return no_update, f"The CSV could not be made: {error}."
    if download is no_update:
        return no_update, NOTHING_TO_EXPORT if n_clicks else None
    return download, None


# The ids the grid shows, sent only while a column filter hides rows (a sort alone is
# applied on the server from the grid's column state): far smaller than the rows themselves.
REPORT_FILTERED_IDS = """
function(virtualRows, filterModel) {
    if (!filterModel || Object.keys(filterModel).length === 0 || !virtualRows) {
        return null;
    }
    return virtualRows.map(row => row.patient_id);
}
"""


def register_callbacks(app: Dash, manager=None) -> None:
    """``manager``: the background-callback manager (app.background) that runs the export."""
    app.callback(
        Output(ids.WORKLIST_MESSAGE, "children"),
        Output(ids.WORKLIST_BODY, "hidden"),
        Output(ids.WORKLIST_SUMMARY, "children"),
        Output(ids.WORKLIST_GRID, "rowData"),
        Input(ids.COHORT_QUERY, "data"),
        Input(ids.WORKLIST_CAPACITY, "value"),
        Input(ids.WORKLIST_SORT, "value"),
        Input(ids.WORKLIST_SHOW_CALLED, "value"),
        Input(ids.WORKLIST_REFRESH, "data"),
    )(update_worklist)
    app.clientside_callback(
        WRITE_WORKLIST_KEYS_TO_ADDRESS_BAR,
        Output(ids.WORKLIST_URL_WRITTEN, "data"),
        Input(ids.WORKLIST_CAPACITY, "value"),
        Input(ids.WORKLIST_SORT, "value"),
    )
    app.clientside_callback(
        REPORT_FILTERED_IDS,
        Output(ids.WORKLIST_FILTERED_IDS, "data"),
        Input(ids.WORKLIST_GRID, "virtualRowData"),
        State(ids.WORKLIST_GRID, "filterModel"),
    )
    app.callback(
        Output(ids.WORKLIST_DOWNLOAD, "data"),
        Output(ids.WORKLIST_EXPORT_NOTE, "children"),
        Input(ids.WORKLIST_EXPORT_BUTTON, "n_clicks"),
        State(ids.COHORT_QUERY, "data"),
        State(ids.WORKLIST_CAPACITY, "value"),
        State(ids.WORKLIST_SORT, "value"),
        State(ids.WORKLIST_SHOW_CALLED, "value"),
        State(ids.WORKLIST_GRID, "columnState"),
        State(ids.WORKLIST_FILTERED_IDS, "data"),
        background=True,
        manager=manager,
        running=[(Output(ids.WORKLIST_EXPORT_BUTTON, "disabled"), True, False),
                 (Output(ids.WORKLIST_EXPORT_RUNNING, "hidden"), False, True)],
        cancel=[Input(ids.WORKLIST_EXPORT_CANCEL, "n_clicks")],
        interval=500,
        prevent_initial_call=True,
    )(export_job)
