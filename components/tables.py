"""Table factories: small frames in, Bootstrap tables or AG Grids out."""
from __future__ import annotations

import math

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from components import formatting


def funnel_table(funnel: pd.DataFrame) -> dbc.Table:
    """The funnel's numbers as text, for reading exact values and for screen readers."""
    header = html.Thead(html.Tr([html.Th("Step"), html.Th("Patients", className="text-end"),
                                 html.Th("Conversion", className="text-end"),
                                 html.Th("Drop-off", className="text-end"), html.Th("Meaning")]))
    rows = [
        html.Tr([
            html.Td(row.label),
            html.Td(formatting.count(row.patients), className="text-end"),
            html.Td(formatting.percent(row.conversion), className="text-end"),
            html.Td(formatting.count(row.drop_off) if i else formatting.MISSING, className="text-end"),
            html.Td(row.drop_off_meaning, className="text-muted small"),
        ], **{"data-step": row.step})
        for i, row in enumerate(funnel.itertuples(index=False))
    ]
    return dbc.Table([header, html.Tbody(rows)], size="sm", hover=True, className="funnel-table mb-0")


def durations_table(durations: pd.DataFrame) -> dbc.Table:
    """Median, IQR and n per step from ``data.cohorts.stage_durations``."""
    header = html.Thead(html.Tr([html.Th("Step"), html.Th("Median", className="text-end"),
                                 html.Th("IQR (p25–p75)", className="text-end"),
                                 html.Th("Patients (n)", className="text-end")]))
    rows = [
        html.Tr([
            html.Td(row.label),
            html.Td(formatting.days(row.median), className="text-end"),
            html.Td(formatting.MISSING if row.n == 0 or pd.isna(row.p25) else f"{row.p25:,.0f}–{row.p75:,.0f} days",
                    className="text-end"),
            html.Td(formatting.count(row.n), className="text-end"),
        ], **{"data-step": row.step})
        for row in durations.itertuples(index=False)
    ]
    return dbc.Table([header, html.Tbody(rows)], size="sm", hover=True, className="durations-table mb-0")


# AG Grid formats in the browser; a missing value (a group nobody has resolved in) reads "—".
_PERCENT = {"function": f"params.value == null ? '{formatting.MISSING}' : params.value === '<11' ? '<11' : d3.format('.1%')(params.value)"}
_COUNT = {"function": f"params.value == null ? '{formatting.MISSING}' : params.value === '<11' ? '<11' : d3.format(',')(params.value)"}
_DAYS = {"function": f"params.value == null ? '{formatting.MISSING}' : params.value === '<11' ? '<11' : d3.format(',.0f')(params.value) + ' days'"}


def _rate_of(numerator: str) -> dict:
    """A rate with its numerator and denominator beside it: "64.2% (120 / 187)"; "<11" when suppressed."""
    return {"function": f"params.value == null ? '{formatting.MISSING}' : params.value === '<11' ? '<11' : "
                        f"d3.format('.1%')(params.value) + ' (' + d3.format(',')(params.data.{numerator}) + ' / ' "
                        "+ d3.format(',')(params.data.resolved) + ')'"}


def breakdown_grid(grid_id: str, group_label: str) -> dag.AgGrid:
    """Completion and dropout by a patient attribute; the callback fills ``rowData``."""
    numeric = {"type": "rightAligned", "filter": "agNumberColumnFilter"}
    return dag.AgGrid(
        id=grid_id,
        columnDefs=[
            {"field": "group", "headerName": group_label, "filter": True, "flex": 1.4},
            {"field": "patients", "headerName": "Patients", "valueFormatter": _COUNT, **numeric},
            {"field": "resolved", "headerName": "Resolved", "valueFormatter": _COUNT,
             "headerTooltip": "Patients with a positive screen who completed or dropped out: the rates' denominator",
             **numeric},
            {"field": "completion_rate", "headerName": "Completion rate (completed / resolved)",
             "valueFormatter": _rate_of("completed"), "minWidth": 130, **numeric},
            {"field": "dropout_rate", "headerName": "Dropout rate (dropped out / resolved)",
             "valueFormatter": _rate_of("dropped_out"), "minWidth": 130, **numeric},
            {"field": "median_days_to_milestone", "headerName": "Positive screen → treatment (median)",
             "headerTooltip": "Median days from a positive screen to treatment", "valueFormatter": _DAYS,
             **numeric},
            {"field": "in_progress", "headerName": "In progress", "valueFormatter": _COUNT, **numeric},
        ],
        rowData=[],
        # Flexible widths and wrapped headers, so the grid fits its card without scrolling.
        defaultColDef={"sortable": True, "resizable": True, "flex": 1, "minWidth": 75,
                       "wrapHeaderText": True, "autoHeaderHeight": True},
        dashGridOptions={"domLayout": "autoHeight", "animateRows": False},
        className="breakdown-grid",
    )


def breakdown_rows(table: pd.DataFrame) -> list[dict]:
    """``data.cohorts.breakdown`` as grid rows (NaN becomes null, which JSON can carry)."""
    return [{key: (None if isinstance(value, float) and math.isnan(value) else value)
             for key, value in row.items()}
            for row in table.astype(object).to_dict("records")]
