"""Cumulative-incidence figures (pure: frames in, plotly figures out): time to the next
stage from a decision point, one panel per competing outcome, one colour per compared group."""
from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from components.figures import _base_layout, _translucent, prevalidated_figure

GROUP_COLOURS = ("#1f6f8b", "#d1495b", "#e9a23b", "#6a4c93")


def _step(times: np.ndarray, values: np.ndarray, horizon: float) -> tuple[list, list]:
    """A right-continuous step function from day 0 (value 0) to ``horizon``, as explicit
    corner points (each jump drawn vertically), so a band between two steps fills correctly
    when one edge is traced backwards."""
    before = np.concatenate([[0.0], values[:-1]]) if len(values) else values
    x = np.concatenate([[0.0], np.repeat(times, 2), [horizon]])
    y = np.concatenate([[0.0], np.column_stack([before, values]).ravel(), [values[-1] if len(values) else 0.0]])
    return x.tolist(), y.tolist()


def incidence_figure(estimates: list, event_labels: dict[int, str], events: tuple[int, ...],
                     ends: list | None = None, note: str | None = None) -> go.Figure:
    """``estimates``: data.analytics.time_to_next_stage.TimeToNextStage per group (the first
    is drawn with its 95 % band; every group's band when there are at most two). ``ends``:
    per group, the day its curve stops (None: the common horizon); ``note`` is shown above."""
    horizon = max((float(e.incidence.survival["time"].max()) for e in estimates if e.n), default=1.0)
    bands = len(estimates) <= 2
    traces = []
    # Each trace as plotly's validation leaves it (figures.prevalidated_figure): properties in
    # plotly's (alphabetical) order, nested ones too, then type and the panel's axes.
    for g, estimate in enumerate(estimates):
        colour = GROUP_COLOURS[g % len(GROUP_COLOURS)]
        end = horizon if ends is None or ends[g] is None else min(horizon, float(ends[g]))
        curves = estimate.incidence.curves
        for col, event in enumerate(events, start=1):
            axes = {"xaxis": f"x{col if col > 1 else ''}", "yaxis": f"y{col if col > 1 else ''}"}
            curve = curves[curves["event"] == event] if len(curves) else curves
            times = curve["time"].to_numpy(dtype=float)
            x, y = _step(times, curve["estimate"].to_numpy(dtype=float), end)
            if bands and len(curve):
                _, low = _step(times, curve["lower"].to_numpy(dtype=float), end)
                _, high = _step(times, curve["upper"].to_numpy(dtype=float), end)
                traces.append({"fill": "toself", "fillcolor": _translucent(colour, 0.15), "hoverinfo": "skip",
                               "line": {"width": 0}, "showlegend": False, "x": x + x[::-1], "y": high + low[::-1],
                               "type": "scatter", **axes})
            traces.append({"hovertemplate": f"{estimate.group}<br>day %{{x:.0f}}: %{{y:.1%}}<extra></extra>",
                           "legendgroup": estimate.group, "line": {"color": colour, "width": 2}, "mode": "lines",
                           "name": f"{estimate.group} (n = {estimate.n:,})", "showlegend": col == 1,
                           "x": x, "y": y, "type": "scatter", **axes})
    return prevalidated_figure(traces, json.loads(_layout_json(tuple(event_labels[e] for e in events), note)))


@lru_cache(maxsize=64)
def _layout_json(titles: tuple[str, ...], note: str | None) -> str:
    """The panels' layout as plotly builds and validates it (10-15 ms a figure), once per titles
    and note; a fresh copy per figure, as a figure may be edited later."""
    fig = make_subplots(rows=1, cols=len(titles), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=list(titles))
    fig.update_yaxes(tickformat=".0%", range=[0, 1], row=1, col=1, title_text="Cumulative incidence")
    fig.update_xaxes(title_text="Days since the decision", rangemode="tozero")
    fig.update_layout(height=380, legend=dict(orientation="h", yanchor="top", y=-0.22, x=0))
    if note:
        fig.add_annotation(text=note, xref="paper", yref="paper", x=0, y=1.14, showarrow=False, xanchor="left",
                           font=dict(size=11, color="#6c757d"))
    fig = _base_layout(fig)
    fig.update_layout(margin=dict(l=60, r=10, t=40, b=10))
    return json.dumps(fig.to_plotly_json()["layout"])
