"""Figure builders: plain data in, plotly figures out."""
import pandas as pd
import plotly.graph_objects as go

from callbacks.overview_metrics import funnel_counts
from components.figures import empty_figure, funnel_figure, trend_figure


def _funnel():
    return pd.DataFrame({
        "step": ["enrolled", "screened"], "label": ["Enrolled", "Screened"], "patients": [100, 80],
        "conversion": [float("nan"), 0.8], "drop_off": [0, 20], "drop_off_meaning": ["", "lost"],
        "share_of_enrolled": [1.0, 0.8],
    })


def test_funnel_figure_shows_counts_and_conversion():
    fig = funnel_figure(_funnel())
    assert isinstance(fig, go.Figure)
    (trace,) = fig.data
    assert trace.type == "funnel"
    assert list(trace.x) == [100, 80]
    assert list(trace.y) == ["Enrolled", "Screened"]
    assert trace.text[0] == "100"
    assert trace.text[1] == "80 · 80% of previous"
    assert "Drop-off" in trace.hovertemplate


def test_funnel_figure_accepts_funnel_counts_output():
    frame = pd.DataFrame({
        "status": ["completed"], "screening_date": [pd.Timestamp("2025-01-01")], "screening_result": ["positive"],
        "diagnosis_date": [pd.Timestamp("2025-02-01")], "diagnosis_result": ["confirmed"],
        "treatment_date": [pd.Timestamp("2025-03-01")], "follow_up_date": [pd.Timestamp("2025-04-01")],
    })
    assert list(funnel_figure(funnel_counts(frame)).data[0].x) == [1] * 7


def test_trend_figure_has_enrolled_bars_and_completed_line():
    trend = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01"]),
                          "enrolled": [5, 7], "completed": [1, 2]})
    fig = trend_figure(trend)
    bar, line = fig.data
    assert (bar.type, line.type) == ("bar", "scatter")
    assert list(bar.y) == [5, 7] and list(line.y) == [1, 2]


def test_empty_figure_carries_its_message():
    fig = empty_figure("Nothing here")
    assert fig.data == ()
    assert fig.layout.annotations[0].text == "Nothing here"
    assert fig.layout.xaxis.visible is False
