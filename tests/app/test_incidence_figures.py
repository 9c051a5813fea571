"""The cumulative-incidence figure, built from dicts in plotly's validated form without validating
again (components.figures.prevalidated_figure), is the figure plotly builds and validates: the
same JSON byte for byte, in plotly's key order, against a frozen copy of the previous,
validated construction: one group with its band, two, three without bands, curves cut short,
a note, an outcome with no events, two panels or three."""
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io
import pytest
from plotly.subplots import make_subplots
from plotly.utils import PlotlyJSONEncoder

from components.figures import _base_layout, _translucent
from components.incidence_figures import GROUP_COLOURS, _step, incidence_figure
from data.analytics.time_to_next_stage import CENSOR_IN_PROGRESS, event_labels, time_to_next_stage


def validated_incidence_figure(estimates, event_labels, events, ends=None, note=None) -> go.Figure:
    """components.incidence_figures.incidence_figure as it was, with plotly's validation (frozen copy)."""
    fig = make_subplots(rows=1, cols=len(events), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[event_labels[e] for e in events])
    horizon = max((float(e.incidence.survival["time"].max()) for e in estimates if e.n), default=1.0)
    bands = len(estimates) <= 2
    for g, estimate in enumerate(estimates):
        colour = GROUP_COLOURS[g % len(GROUP_COLOURS)]
        end = horizon if ends is None or ends[g] is None else min(horizon, float(ends[g]))
        curves = estimate.incidence.curves
        for col, event in enumerate(events, start=1):
            curve = curves[curves["event"] == event] if len(curves) else curves
            times = curve["time"].to_numpy(dtype=float)
            x, y = _step(times, curve["estimate"].to_numpy(dtype=float), end)
            if bands and len(curve):
                _, low = _step(times, curve["lower"].to_numpy(dtype=float), end)
                _, high = _step(times, curve["upper"].to_numpy(dtype=float), end)
                fig.add_scatter(x=x + x[::-1], y=high + low[::-1], fill="toself", line=dict(width=0),
                                fillcolor=_translucent(colour, 0.15), hoverinfo="skip", showlegend=False,
                                row=1, col=col)
            fig.add_scatter(x=x, y=y, mode="lines", line=dict(color=colour, width=2),
                            name=f"{estimate.group} (n = {estimate.n:,})", legendgroup=estimate.group,
                            showlegend=col == 1,
                            hovertemplate=f"{estimate.group}<br>day %{{x:.0f}}: %{{y:.1%}}<extra></extra>",
                            row=1, col=col)
    fig.update_yaxes(tickformat=".0%", range=[0, 1], row=1, col=1, title_text="Cumulative incidence")
    fig.update_xaxes(title_text="Days since the decision", rangemode="tozero")
    fig.update_layout(height=380, legend=dict(orientation="h", yanchor="top", y=-0.22, x=0))
    if note:
        fig.add_annotation(text=note, xref="paper", yref="paper", x=0, y=1.14, showarrow=False, xanchor="left",
                           font=dict(size=11, color="#6c757d"))
    fig = _base_layout(fig)
    fig.update_layout(margin=dict(l=60, r=10, t=40, b=10))
    return fig


def _estimate(seed: int, group: str, n: int = 400, kinds=(0, 1, 2, 3)):
    rng = np.random.default_rng(seed)
    event = rng.choice(kinds, n)
    follow_up = pd.DataFrame({"time": rng.integers(0, 120, n).astype(float), "event": event,
                              "censor_reason": np.where(event == 0, CENSOR_IN_PROGRESS, None)})
    return time_to_next_stage(follow_up, group)


def _as_served(fig: go.Figure) -> list[str]:
    """The JSON the bench compares (sorted keys), the JSON in plotly's key order, and Dash's."""
    return [json.dumps(fig, cls=PlotlyJSONEncoder, sort_keys=True), json.dumps(fig, cls=PlotlyJSONEncoder),
            plotly.io.to_json(fig, validate=False)]


@pytest.mark.parametrize("case", ["one", "two", "three", "cut", "no exits", "two panels", "four"])
def test_the_figure_is_plotlys_own_to_the_byte(case):
    labels = event_labels("diagnosis")
    events = (1, 2, 3)
    estimates = [_estimate(1, "Cohort")]
    ends, note = None, None
    if case == "two":
        estimates.append(_estimate(2, "Lakeside & <b>North</b>", n=50))
    if case in ("three", "four"):
        estimates += [_estimate(s, f"Site {s}", n=30 * s) for s in (2, 3, 4)[:2 if case == "three" else 3]]
    if case == "cut":
        estimates.append(_estimate(5, "Small", n=20))
        ends, note = [None, 12.0], "Curves stop where fewer than 11 remain at risk"
    if case == "no exits":
        estimates = [_estimate(6, "Cohort", kinds=(0, 1, 3)), _estimate(7, "None yet", n=5, kinds=(0,))]
    if case == "two panels":
        labels, events = event_labels("treatment"), (1, 3)
    got = incidence_figure(estimates, labels, events, ends=ends, note=note)
    expected = validated_incidence_figure(estimates, labels, events, ends=ends, note=note)
    assert _as_served(got) == _as_served(expected)
    assert len(got.data) == len(expected.data) and got.layout.annotations == expected.layout.annotations


def test_a_prevalidated_figure_still_validates_later_edits():
    fig = incidence_figure([_estimate(1, "Cohort")], event_labels("diagnosis"), (1, 2, 3))
    with pytest.raises(ValueError):
        fig.update_layout(height="tall")
    with pytest.raises(ValueError):
        fig.data[0].update(mode="not a mode")
