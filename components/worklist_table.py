"""The Worklist grid: its columns, its rows (one per patient to call) and the CSV export
of the rows it shows, all from one column list so the file matches the screen."""
from __future__ import annotations

import math
from urllib.parse import quote

import dash_ag_grid as dag
import pandas as pd

from components import formatting
from data.csv_safety import escape_formulas

PATIENT_PAGE = "/patient"

# (row field shown, header, field written to the CSV). The grid shows the patient id as a
# link; the CSV carries the plain id under the same header.
COLUMNS = (
    ("rank", "#", "rank"),
    ("patient_link", "Patient", "patient_id"),
    ("program", "Program", "program"),
    ("stage_name", "Waiting for", "stage_name"),
    ("closes_in_days", "Window closes in", "closes_text"),
    ("expected_gain", "Expected gain if called", "gain_text"),
    ("waited_days", "Days waiting", "waited_days"),
    ("booked", "Booked appointment", "booked"),
    ("risk", "Risk of dropping out", "risk_text"),
    ("risk_tier", "Tier", "risk_tier"),
    ("last_call", "Last call", "last_call"),
    ("owner", "Owner", "owner"),
    ("next_due", "Next call due", "next_due"),
    ("top_drivers", "Why (top drivers)", "top_drivers"),
)
HEADERS = {field: header for field, header, _ in COLUMNS}

TIER_CLASSES = {"High": "tier-high", "Medium": "tier-medium", "Low": "tier-low"}
RISK_BAR_COLOUR = "rgba(209, 73, 91, 0.75)"  # figures.DROPPED_OUT_COLOUR
_RISK_BAR_STEP = 5  # percentage points per step of the in-cell risk bar


def patient_href(patient_id: str, cohort_query: str | None) -> str:
    """The Patient page for one patient, keeping the cohort filter in the URL."""
    extra = (cohort_query or "").lstrip("?")
    return f"{PATIENT_PAGE}?id={quote(str(patient_id))}" + (f"&{extra}" if extra else "")


def booked_text(booked_date, days_until_appointment) -> str:
    """"2026-08-01 · passed 60 days ago, no visit" (ISO first, so the text sorts by date)."""
    if booked_date is None or pd.isna(booked_date):
        return "not booked"
    day = f"{pd.Timestamp(booked_date):%Y-%m-%d}"
    until = int(days_until_appointment)
    if until < 0:
        return f"{day} · passed {-until} day{'s' if until != -1 else ''} ago, no visit"
    if until == 0:
        return f"{day} · today"
    return f"{day} · in {until} day{'s' if until != 1 else ''}"


def closes_text(window_closes, as_of) -> tuple[int | None, str]:
    """(days left, "in 12 days · 2026-10-12"): when the awaited stage's window closes."""
    if window_closes is None or pd.isna(window_closes):
        return None, formatting.MISSING
    days = int((pd.Timestamp(window_closes) - pd.Timestamp(as_of)).days)
    when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
    return days, f"{when} · {pd.Timestamp(window_closes):%Y-%m-%d}"


def gain_text(gain) -> str:
    """"+12.3 pts": the expected gain in completion probability from a call."""
    if gain is None or pd.isna(gain):
        return formatting.MISSING
    return f"{gain * 100:+.1f} pts"


def _program_label(program: str) -> str:
    return str(program).replace("_", " ").capitalize()


def worklist_rows(scores: pd.DataFrame, cohort_query: str | None, as_of=None) -> list[dict]:
    """Grid rows for scored patients, in the frame's order, ranked 1..n in that order."""
    rows = []
    has_gain = "expected_gain" in scores.columns
    for rank, row in enumerate(scores.itertuples(index=False), start=1):
        risk = float(row.risk)
        days_left, closes = closes_text(row.window_closes, as_of) if as_of is not None else (None, formatting.MISSING)
        gain = float(row.expected_gain) if has_gain and pd.notna(row.expected_gain) else None
        rows.append({
            "rank": rank,
            "patient_id": str(row.patient_id),
            "patient_link": f"[{row.patient_id}]({patient_href(row.patient_id, cohort_query)})",
            "program": _program_label(row.program),
            "stage_name": str(row.stage_name),
            "closes_in_days": days_left,
            "closes_text": closes,
            "expected_gain": gain,
            "gain_text": gain_text(gain),
            "waited_days": int(row.waited_days),
            "booked": booked_text(row.booked_date, row.days_until_appointment),
            "risk": risk,
            "risk_text": formatting.percent(risk),
            "risk_tier": str(row.risk_tier),
            "top_drivers": str(row.top_drivers),
        })
    return rows


def export_frame(rows: list[dict] | None) -> pd.DataFrame:
    """The CSV's table: the given grid rows, in their order, with the grid's headers. Text
    that a spreadsheet would run as a formula is escaped (the rows come from the browser,
    and notes and owners are typed by people)."""
    rows = [row for row in (rows or []) if isinstance(row, dict)]
    return escape_formulas(pd.DataFrame({header: [row.get(export_field) for row in rows]
                                         for _, header, export_field in COLUMNS}))


def _risk_bar_styles() -> list[dict]:
    """An in-cell bar as long as the risk, in 5-point steps (style conditions need no
    custom JavaScript component)."""
    conditions = []
    for low in range(0, 100, _RISK_BAR_STEP):
        high = low + _RISK_BAR_STEP
        width = high - _RISK_BAR_STEP / 2
        conditions.append({
            "condition": f"params.value >= {low / 100} && params.value < {high / 100 if high < 100 else 1.01}",
            "style": {"background": f"linear-gradient(90deg, {RISK_BAR_COLOUR} {width}%, transparent {width}%) "
                               "no-repeat left 0 top 2.1rem / 100% 0.4rem"},
        })
    return conditions


def worklist_grid(grid_id: str, show_gain: bool = True) -> dag.AgGrid:
    """Sortable, filterable grid of the patients to call; the callback fills ``rowData``.
    ``show_gain``: the benefit model exists (without an outreach log there is none)."""
    numeric = {"type": "rightAligned", "filter": "agNumberColumnFilter"}
    return dag.AgGrid(
        id=grid_id,
        columnDefs=[
            {"field": "rank", "headerName": HEADERS["rank"], "maxWidth": 70, "minWidth": 58, **numeric,
             "headerTooltip": "Rank within this list, in the order chosen above"},
            {"field": "patient_link", "headerName": HEADERS["patient_link"], "cellRenderer": "markdown",
             "filter": "agTextColumnFilter", "minWidth": 105, "headerTooltip": "Open the patient's page"},
            {"field": "program", "headerName": HEADERS["program"], "filter": True, "minWidth": 125},
            {"field": "stage_name", "headerName": HEADERS["stage_name"], "filter": True, "minWidth": 130,
             "wrapText": True, "autoHeight": True, "cellClass": "wrap-cell"},
            {"field": "closes_in_days", "headerName": HEADERS["closes_in_days"], "minWidth": 125, **numeric,
             "wrapText": True, "autoHeight": True, "cellClass": "wrap-cell",
             "valueFormatter": {"function": "params.data.closes_text"},
             "headerTooltip": "Days until the window for the awaited step closes; after that the patient counts "
                              "as dropped out"},
            {"field": "expected_gain", "headerName": HEADERS["expected_gain"], "minWidth": 120, **numeric,
             "valueFormatter": {"function": "params.data.gain_text"},
             "hide": not show_gain,
             "headerTooltip": "How much a call is expected to raise this patient's chance of completing the "
                              "pathway, in percentage points (benefit model learned from logged outreach)"},
            {"field": "waited_days", "headerName": HEADERS["waited_days"], "minWidth": 105,
             "headerTooltip": "Days since the decision that booked the next step", **numeric},
            {"field": "booked", "headerName": HEADERS["booked"], "filter": True, "minWidth": 155,
             "wrapText": True, "autoHeight": True, "cellClass": "wrap-cell",
             "headerTooltip": "Date of the booked appointment for the step awaited, and whether it passed"},
            {"field": "risk", "headerName": HEADERS["risk"], "minWidth": 115, **numeric,
             "valueFormatter": {"function": f"params.value == null ? '{formatting.MISSING}' : "
                                            "d3.format('.1%')(params.value)"},
             "cellStyle": {"styleConditions": _risk_bar_styles()},
             "headerTooltip": "Calibrated probability of dropping out before completing the pathway"},
            {"field": "risk_tier", "headerName": HEADERS["risk_tier"], "filter": True, "minWidth": 115,
             "maxWidth": 130,
             "cellClassRules": {f"tier-badge {css}": f"params.value === '{tier}'" for tier, css in TIER_CLASSES.items()},
             "headerTooltip": "High: 70% or more; Medium: 40–70%; Low: under 40%"},
            {"field": "last_call", "headerName": HEADERS["last_call"], "filter": True, "minWidth": 150,
             "wrapText": True, "autoHeight": True, "cellClass": "wrap-cell",
             "headerTooltip": "The last call recorded for this patient and how it ended"},
            {"field": "owner", "headerName": HEADERS["owner"], "filter": True, "minWidth": 100,
             "headerTooltip": "The coordinator who took this patient on"},
            {"field": "next_due", "headerName": HEADERS["next_due"], "filter": True, "minWidth": 110,
             "headerTooltip": "When the next call is due, as recorded with the last call"},
            {"field": "top_drivers", "headerName": HEADERS["top_drivers"], "filter": True, "flex": 2.5,
             "minWidth": 230, "wrapText": True, "autoHeight": True, "cellClass": "drivers-cell",
             "headerTooltip": "What pushes this patient's risk up (+) or down (−) most, in percentage points"},
        ],
        rowData=[],
        getRowId="params.data.patient_id",
        defaultColDef={"sortable": True, "resizable": True, "flex": 1, "wrapHeaderText": True,
                       "autoHeaderHeight": True},
        # A dozen columns: render them all, so every cell is in the page (find-in-page, tests).
        dashGridOptions={"animateRows": False, "tooltipShowDelay": 300, "suppressColumnVirtualisation": True,
                         "rowSelection": "single"},
        className="worklist-grid",
        style={"height": "70vh", "minHeight": "480px", "width": "100%"},
    )


def expected_dropouts(risks) -> float:
    total = float(pd.Series(risks, dtype=float).sum())
    return 0.0 if math.isnan(total) else total
