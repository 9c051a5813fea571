"""Pure figure builders: small data frames in, plotly figures out (no Dash imports)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

BRAND = "#1f6f8b"
COMPLETED_COLOUR = "#2a9d8f"
MARGINS = dict(l=10, r=10, t=30, b=10)


def _base_layout(fig: go.Figure, title: str | None = None) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        margin=MARGINS,
        title=dict(text=title, x=0, xanchor="left") if title else None,
        font=dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=13),
    )
    return fig


def empty_figure(message: str) -> go.Figure:
    """A figure that says why there is nothing to plot, instead of empty axes."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font=dict(size=15, color="#6c757d"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base_layout(fig)


def funnel_figure(funnel: pd.DataFrame) -> go.Figure:
    """Stage funnel from ``overview_metrics.funnel_counts``: bar per step, with the
    conversion from the previous step and the drop-off (and what it means) on hover."""
    conversion = [
        "" if pd.isna(c) else f"{c:.0%} of previous" for c in funnel["conversion"]
    ]
    fig = go.Figure(go.Funnel(
        # Plain lists: a handful of values reads better in the JSON than base64 arrays.
        y=funnel["label"].tolist(),
        x=funnel["patients"].tolist(),
        text=[f"{n:,}" + (f" · {c}" if c else "") for n, c in zip(funnel["patients"], conversion)],
        textinfo="text",
        customdata=list(zip(funnel["drop_off"], funnel["drop_off_meaning"])),
        hovertemplate=("<b>%{y}</b><br>%{x:,} patients<br>"
                       "Drop-off from previous step: %{customdata[0]:,}<br>%{customdata[1]}<extra></extra>"),
        marker=dict(color=BRAND),
        connector=dict(line=dict(color="#ced4da")),
    ))
    return _base_layout(fig)


def trend_figure(trend: pd.DataFrame) -> go.Figure:
    """Monthly enrollments (bars) and pathway completions (line) from
    ``overview_metrics.monthly_trend``."""
    fig = go.Figure()
    fig.add_bar(x=trend["month"], y=trend["enrolled"], name="Enrolled", marker_color=BRAND,
                hovertemplate="%{x|%b %Y}: %{y:,} enrolled<extra></extra>")
    fig.add_scatter(x=trend["month"], y=trend["completed"], name="Completed pathway",
                    mode="lines+markers", line=dict(color=COMPLETED_COLOUR, width=3),
                    hovertemplate="%{x|%b %Y}: %{y:,} completed<extra></extra>")
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.1, x=0), hovermode="x unified")
    fig.update_yaxes(title_text="Patients", rangemode="tozero")
    return _base_layout(fig)
