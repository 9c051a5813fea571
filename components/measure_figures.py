"""Quality-measure figures (pure): the monthly rate with its Wilson interval."""
from __future__ import annotations

import plotly.graph_objects as go

from components.figures import BRAND, _base_layout, _translucent


def measure_trend_figure(by_month, note: str | None = None) -> go.Figure:
    """``by_month``: data.measures.rate_table by index month (group = "YYYY-MM"); months
    without an evaluable patient are left out. Hover gives numerator / denominator."""
    months = by_month[by_month["denominator"] > 0]
    x = months["group"].tolist()
    fig = go.Figure()
    fig.add_scatter(x=x + x[::-1], y=months["rate_upper"].tolist() + months["rate_lower"].tolist()[::-1],
                    fill="toself", fillcolor=_translucent(BRAND, 0.15), line=dict(width=0), hoverinfo="skip",
                    name="95 % interval (Wilson)")
    fig.add_scatter(x=x, y=months["rate"].tolist(), mode="lines+markers", line=dict(color=BRAND, width=2),
                    name="Rate", customdata=list(zip(months["numerator"], months["denominator"],
                                                     months["rate_lower"], months["rate_upper"])),
                    hovertemplate=("%{x}: %{y:.1%} = %{customdata[0]:,} / %{customdata[1]:,}"
                                   "<br>95 % CI %{customdata[2]:.1%}–%{customdata[3]:.1%}<extra></extra>"))
    fig.update_yaxes(tickformat=".0%", range=[0, 1], title_text="Met within the window")
    fig.update_xaxes(title_text="Month of the index event", type="category")
    fig.update_layout(height=340, legend=dict(orientation="h", yanchor="top", y=-0.3, x=0))
    if note:
        fig.add_annotation(text=note, xref="paper", yref="paper", x=0, y=1.08, showarrow=False,
                           xanchor="left", font=dict(size=11, color="#6c757d"))
    fig = _base_layout(fig)
    fig.update_layout(margin=dict(l=60, r=10, t=30, b=10))
    return fig
