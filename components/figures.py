"""Pure figure builders: small data frames in, plotly figures out (no Dash imports)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

BRAND = "#1f6f8b"
COMPLETED_COLOUR = "#2a9d8f"
EXITED_COLOUR = "#8d99a6"
DROPPED_OUT_COLOUR = "#d1495b"
IN_PROGRESS_COLOUR = "#e9a23b"
# Journey status -> colour, the same on every figure (and in assets/carepath.css).
STATUS_COLOURS = {
    "completed": COMPLETED_COLOUR,
    "exited": EXITED_COLOUR,
    "dropped_out": DROPPED_OUT_COLOUR,
    "in_progress": IN_PROGRESS_COLOUR,
}
INNER_LINK_COLOUR = "rgba(31, 111, 139, 0.25)"
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
    """Stage funnel from ``data.cohorts.funnel_counts``: bar per step, with the
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
    ``data.cohorts.monthly_trend``."""
    fig = go.Figure()
    fig.add_bar(x=trend["month"], y=trend["enrolled"], name="Enrolled", marker_color=BRAND,
                hovertemplate="%{x|%b %Y}: %{y:,} enrolled<extra></extra>")
    fig.add_scatter(x=trend["month"], y=trend["completed"], name="Completed pathway",
                    mode="lines+markers", line=dict(color=COMPLETED_COLOUR, width=3),
                    hovertemplate="%{x|%b %Y}: %{y:,} completed<extra></extra>")
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.1, x=0), hovermode="x unified")
    fig.update_yaxes(title_text="Patients", rangemode="tozero")
    return _base_layout(fig)


def _translucent(hex_colour: str, alpha: float = 0.35) -> str:
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def sankey_figure(flows: pd.DataFrame) -> go.Figure:
    """Pathway Sankey from ``data.cohorts.sankey_flows``. Terminal nodes (and the links
    into them) take their status colour; links without patients are left out."""
    flows = flows[flows["patients"] > 0]
    nodes = list(dict.fromkeys([*flows["source"], *flows["target"]]))
    index = {node: i for i, node in enumerate(nodes)}
    inflow = flows.groupby("target")["patients"].sum()
    outflow = flows.groupby("source")["patients"].sum()
    size = {node: int(inflow.get(node, outflow.get(node, 0))) for node in nodes}
    # Inner nodes have no status (None, or NaN once pandas stores the column as strings).
    terminal_status = {target: status for target, status in zip(flows["target"], flows["target_status"])
                       if status in STATUS_COLOURS}
    node_colours = [STATUS_COLOURS.get(terminal_status.get(node), BRAND) for node in nodes]
    link_colours = [_translucent(STATUS_COLOURS[status]) if status in STATUS_COLOURS else INNER_LINK_COLOUR
                    for status in flows["target_status"]]
    fig = go.Figure(go.Sankey(
        # Left alignment keeps each terminal branch next to the stage it leaves.
        node=dict(label=[f"{node} · {size[node]:,}" for node in nodes], color=node_colours, pad=14,
                  thickness=16, align="left", line=dict(width=0), customdata=nodes,
                  hovertemplate="<b>%{customdata}</b><br>%{value:,} patients<extra></extra>"),
        link=dict(source=[index[s] for s in flows["source"]], target=[index[t] for t in flows["target"]],
                  value=flows["patients"].tolist(), color=link_colours,
                  hovertemplate="%{source.customdata} → %{target.customdata}<br>%{value:,} patients<extra></extra>"),
        valueformat=",d",
        textfont=dict(size=11),
    ))
    # A fixed height: the late stages are thin, and need room for their labels.
    fig.update_layout(height=540)
    return _base_layout(fig)


def durations_figure(durations: pd.DataFrame) -> go.Figure:
    """Days between stages from ``data.cohorts.stage_durations``: one box per step from
    precomputed quantiles (box p25-p75, line at the median, whiskers p5-p95), so no
    patient-level values travel to the browser."""
    steps = durations[durations["n"] > 0].iloc[::-1]  # first step on top
    fig = go.Figure(go.Box(
        y=steps["label"].tolist(), orientation="h",
        q1=steps["p25"].tolist(), median=steps["median"].tolist(), q3=steps["p75"].tolist(),
        lowerfence=steps["p05"].tolist(), upperfence=steps["p95"].tolist(),
        marker_color=BRAND, fillcolor=_translucent(BRAND, 0.25), name="Days", showlegend=False,
        hoverinfo="x+y",
    ))
    fig.update_xaxes(title_text="Days (box: IQR, line: median, whiskers: 5th–95th percentile)",
                     rangemode="tozero")
    return _base_layout(fig)
