"""Journeys page pieces (layout only, no callbacks): the variants grid and the
Kaplan–Meier-style risk table under the cumulative-incidence curves."""
from __future__ import annotations

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from components import formatting, ids


def share_text(numerator, denominator) -> str:
    """"40.0 % (2 / 5)": every percentage with its numerator and denominator."""
    if not denominator:
        return f"{formatting.MISSING} (0 / 0)"
    return f"{formatting.percent(numerator / denominator)} ({int(numerator):,} / {int(denominator):,})"


def _timing_text(step_days: list) -> str:
    return " → ".join(formatting.MISSING if d is None else f"{d:,.0f} d" for d in step_days)


def variant_rows(table: pd.DataFrame) -> list[dict]:
    """``data.analytics.variants.journey_variants`` as grid rows (counts stay integers)."""
    return [{
        "key": row.key,
        "label": row.label,
        "patients": int(row.patients),
        "share": share_text(row.patients, row.cohort),
        "completion": share_text(row.completed, row.resolved),
        "dropped_out": int(row.dropped_out),
        "in_progress": int(row.in_progress),
        "exited": int(row.exited),
        "timing": _timing_text(row.median_step_days),
        "median_days": None if row.median_days is None or pd.isna(row.median_days) else float(row.median_days),
    } for row in table.itertuples(index=False)]


# dash-ag-grid's expression evaluator has no ``typeof``: a suppressed cell is matched by its text.
_COUNT = {"function": f"params.value == null ? '{formatting.MISSING}' : params.value === '<11' "
                      "? '<11' : d3.format(',')(params.value)"}
_DAYS = {"function": f"params.value == null ? '{formatting.MISSING}' : d3.format(',.0f')(params.value) + ' days'"}


def variants_grid() -> dag.AgGrid:
    numeric = {"type": "rightAligned"}
    return dag.AgGrid(
        id=ids.JOURNEYS_VARIANTS_GRID,
        columnDefs=[
            {"field": "label", "headerName": "Variant (stages in date order)", "flex": 3, "minWidth": 220,
             "wrapText": True,
             "autoHeight": True, "cellClass": "variant-label"},
            {"field": "patients", "headerName": "Patients", "valueFormatter": _COUNT, "minWidth": 90, **numeric},
            {"field": "share", "headerName": "Share of cohort", "headerTooltip": "patients / everyone in the cohort",
             "minWidth": 120, "wrapText": True, "autoHeight": True, "cellClass": "variant-label", **numeric},
            {"field": "completion", "headerName": "Completed",
             "headerTooltip": "completed / (completed + dropped out): the Overview's completion rate within the variant",
             "minWidth": 120, "wrapText": True, "autoHeight": True, "cellClass": "variant-label", **numeric},
            {"field": "dropped_out", "headerName": "Dropped out", "valueFormatter": _COUNT, **numeric},
            {"field": "in_progress", "headerName": "In progress", "valueFormatter": _COUNT, **numeric},
            {"field": "exited", "headerName": "Exited", "valueFormatter": _COUNT, **numeric},
            {"field": "timing", "headerName": "Median days between steps",
             "headerTooltip": "enrollment → first step, then step → step", "flex": 2, "wrapText": True,
             "autoHeight": True, "cellClass": "variant-label"},
            {"field": "median_days", "headerName": "Median duration", "valueFormatter": _DAYS, "minWidth": 100,
             "headerTooltip": "enrollment → last step", **numeric},
        ],
        rowData=[],
        getRowId="params.data.key",
        defaultColDef={"sortable": True, "resizable": True, "flex": 1, "minWidth": 80, "wrapHeaderText": True,
                       "autoHeaderHeight": True},
        dashGridOptions={"domLayout": "autoHeight", "animateRows": False, "rowSelection": "single"},
        className="variants-grid",
    )


def risk_table(estimates: list, event_labels: dict[int, str], events: tuple[int, ...],
               censor_labels: dict[str, str], tables: list | None = None) -> html.Div:
    """Per group, a Kaplan–Meier-style table: days across; at risk, events by outcome and
    censored by reason down (counts within each interval ending on that day). ``tables``
    replaces the estimates' own tables (suppressed cells arrive as text)."""
    blocks = []
    for position, estimate in enumerate(estimates):
        table = estimate.table if tables is None else tables[position]
        rows = [("At risk (start of interval)", table["at_risk"])]
        rows += [(event_labels[e], table[f"event_{e}"]) for e in events]
        rows += [(f"Censored: {censor_labels.get(c.removeprefix('censored_'), c.removeprefix('censored_'))}",
                  table[c]) for c in table.columns if c.startswith("censored")]
        header = html.Thead(html.Tr([html.Th(estimate.group)]
                                    + [html.Th(f"day {d}" if i == 0 else f"≤ {d}", className="text-end")
                                       for i, d in enumerate(table["day"])]))
        body = html.Tbody([html.Tr([html.Td(label)] + [html.Td(v if isinstance(v, str) else formatting.count(v),
                                                                className="text-end")
                                                        for v in values])
                           for label, values in rows])
        blocks.append(html.Div(dbc.Table([header, body], size="sm", hover=True, responsive=True,
                                         className="risk-table mb-2"), **{"data-group": estimate.group}))
    return html.Div(blocks)
