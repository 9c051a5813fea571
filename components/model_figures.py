"""Pure figure builders for the Model page's decision and monitoring views (plotly only)."""
from __future__ import annotations

import plotly.graph_objects as go

from components.figures import REFERENCE_LINE, UNIT_MARGINS, _base_layout, model_colour

TREAT_ALL_LINE = dict(color="#8d99a6", width=1.5, dash="dot")


def decision_curve_figure(curve: dict, labels: dict) -> go.Figure:
    """Net benefit over threshold probabilities for each ranking in ``labels`` (key -> legend name,
    in order), against calling everybody (treat all) and nobody (treat none)."""
    fig = go.Figure()
    thresholds = list(curve["threshold"])
    for position, (key, label) in enumerate(labels.items()):
        if key in curve:
            fig.add_scatter(x=thresholds, y=list(curve[key]), mode="lines", name=label,
                            line=dict(color=model_colour(position), width=2.5),
                            hovertemplate=("<b>%{fullData.name}</b><br>Threshold %{x:.0%}"
                                           "<br>Net benefit %{y:.3f}<extra></extra>"))
    fig.add_scatter(x=thresholds, y=list(curve["treat_all"]), mode="lines", name="Call everybody",
                    line=TREAT_ALL_LINE, hovertemplate="Call everybody<br>Net benefit %{y:.3f}<extra></extra>")
    fig.add_scatter(x=thresholds, y=list(curve["treat_none"]), mode="lines", name="Call nobody",
                    line=REFERENCE_LINE, hoverinfo="skip")
    top = max(max(values) for key, values in curve.items() if key != "threshold")
    fig.update_xaxes(title_text="Threshold risk (call when the risk is at least this)", tickformat=".0%")
    fig.update_yaxes(title_text="Net benefit (dropouts reached per patient, net)", range=[-0.05, top + 0.05])
    fig = _base_layout(fig)
    fig.update_layout(margin=UNIT_MARGINS, legend=dict(x=0.98, y=0.98, xanchor="right", yanchor="top",
                                                       bgcolor="rgba(255, 255, 255, 0.85)"))
    return fig


def monitoring_figure(months: list[dict]) -> go.Figure:
    """By month of decision: observed and mean predicted dropout (calibration-in-the-large), and the
    realised ROC-AUC beside its label-free estimate (right axis)."""
    month = [m["month"] for m in months]
    fig = go.Figure()
    fig.add_scatter(x=month, y=[m["observed_rate"] for m in months], mode="lines+markers", name="Observed dropout",
                    line=dict(color=model_colour(0), width=2), hovertemplate="%{x}: observed %{y:.1%}<extra></extra>")
    fig.add_scatter(x=month, y=[m["mean_predicted"] for m in months], mode="lines", name="Mean predicted",
                    line=dict(color=model_colour(0), width=2, dash="dash"),
                    hovertemplate="%{x}: predicted %{y:.1%}<extra></extra>")
    fig.add_scatter(x=month, y=[m["roc_auc"] for m in months], mode="lines+markers", name="ROC-AUC (labels)",
                    yaxis="y2", line=dict(color=model_colour(1), width=2),
                    hovertemplate="%{x}: ROC-AUC %{y:.3f}<extra></extra>")
    fig.add_scatter(x=month, y=[m["estimated_roc_auc"] for m in months], mode="lines",
                    name="ROC-AUC estimated without labels", yaxis="y2",
                    line=dict(color=model_colour(1), width=2, dash="dash"),
                    hovertemplate="%{x}: estimated %{y:.3f}<extra></extra>")
    fig = _base_layout(fig)
    fig.update_layout(yaxis=dict(title="Dropout rate", tickformat=".0%", range=[0, 1]),
                      yaxis2=dict(title="ROC-AUC", overlaying="y", side="right", range=[0.5, 1], showgrid=False),
                      xaxis=dict(title="Month of decision"), margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    return fig
