"""Figure builders: plain data in, plotly figures out."""
import pandas as pd
import plotly.graph_objects as go

from components.figures import (SANKEY_HEIGHT, SANKEY_MARGINS, STATUS_COLOURS, durations_figure, empty_figure,
                                funnel_figure, sankey_figure, sankey_node_layout, trend_figure)
from data.cohorts import funnel_counts


def _funnel():
    return pd.DataFrame({
        "step": ["enrolled", "screening_done"], "label": ["Enrolled", "Screened"], "patients": [100, 80],
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
    assert trace.text[1] == "80 · 80% of 100"  # the conversion beside its denominator
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


def _flows():
    return pd.DataFrame({
        "source": ["Enrolled", "Enrolled", "Enrolled", "Screened"],
        "target": ["Screened", "Not screened (dropped out)", "Awaiting screening", "Negative screen"],
        "patients": [8, 2, 0, 8],
        "target_status": [None, "dropped_out", "in_progress", None],
    })


def test_sankey_figure_colours_terminals_by_status_and_skips_empty_links():
    (trace,) = sankey_figure(_flows()).data
    assert trace.type == "sankey"
    nodes = list(trace.node.customdata)
    assert nodes == ["Enrolled", "Screened", "Not screened (dropped out)", "Negative screen"]
    # Labels are annotations beside the nodes (plotly's own overlap on thin nodes).
    labels = [a.text for a in sankey_figure(_flows()).layout.annotations]
    assert labels[:2] == ["Enrolled · 10", "Screened · 8"]
    assert trace.arrangement == "fixed" and set(trace.node.label) == {""}
    assert trace.node.color[nodes.index("Not screened (dropped out)")] == STATUS_COLOURS["dropped_out"]
    assert trace.node.color[nodes.index("Screened")] not in STATUS_COLOURS.values()
    assert list(trace.link.value) == [8, 2, 8]
    assert [nodes[i] for i in trace.link.source] == ["Enrolled", "Enrolled", "Screened"]


def test_status_colours_match_the_stylesheet():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "assets" / "carepath.css").read_text()
    for status, colour in STATUS_COLOURS.items():
        assert f"--status-{status.replace('_', '-')}: {colour};" in css


def test_durations_figure_draws_boxes_from_quantiles_and_skips_empty_steps():
    durations = pd.DataFrame({
        "step": ["a", "b"], "label": ["A → B", "B → C"], "consecutive": [True, True], "n": [5, 0],
        "p05": [1.0, None], "p25": [2.0, None], "median": [3.0, None], "p75": [4.0, None], "p95": [9.0, None],
    })
    (box,) = durations_figure(durations).data
    assert box.type == "box" and box.orientation == "h"
    assert list(box.y) == ["A → B"]
    assert (list(box.q1), list(box.median), list(box.q3)) == ([2.0], [3.0], [4.0])
    assert (list(box.lowerfence), list(box.upperfence)) == ([1.0], [9.0])


def _default_flows():
    from data.cohorts import sankey_flows

    # A cohort shaped like the default data: most patients screened, few reach the late stages.
    statuses = ([("completed", "follow_up")] * 127 + [("dropped_out", "follow_up")] * 9
                + [("in_progress", "follow_up")] * 6 + [("dropped_out", "treatment")] * 40
                + [("in_progress", "treatment")] * 3 + [("exited", "diagnosis")] * 300
                + [("dropped_out", "diagnosis")] * 150 + [("in_progress", "diagnosis")] * 12
                + [("exited", "screening")] * 1500 + [("dropped_out", "screening")] * 856
                + [("in_progress", "screening")] * 184)
    journeys = pd.DataFrame(statuses, columns=["status", "status_stage"])
    return sankey_flows(journeys)


def test_sankey_layout_keeps_nodes_inside_and_apart_and_labels_apart():
    """Guards the overlapping and off-plot nodes plotly's automatic layout drew."""
    layout = sankey_node_layout(_default_flows())
    plot_height = SANKEY_HEIGHT - SANKEY_MARGINS["t"] - SANKEY_MARGINS["b"]
    assert layout["x"].between(0, 1, inclusive="neither").all()
    assert layout["y"].between(0, 1, inclusive="neither").all()
    assert (layout["x"] > 0).all() and (layout["y"] > 0).all()  # plotly ignores a position of 0
    for _, column in layout.groupby("depth"):
        labels = column.sort_values("label_y_px")
        tops = labels["label_y_px"] - labels["label_lines"].str.len() * 7
        bottoms = labels["label_y_px"] + labels["label_lines"].str.len() * 7
        assert (tops.iloc[1:].to_numpy() >= bottoms.iloc[:-1].to_numpy()).all()
        assert tops.min() >= 0 and bottoms.max() <= plot_height
    # The first column holds the whole cohort; the last column is left of the labels' room.
    assert layout.loc[layout["node"] == "Enrolled", "value"].item() == 3187
    assert layout["x"].max() < 0.9


def test_trend_puts_completions_on_their_own_scale():
    """Completions (tens a month) lay flat under enrollments in the thousands on one axis."""
    trend = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01"]),
                          "enrolled": [1000, 1100], "completed": [40, 55]})
    fig = trend_figure(trend)
    bar, line = fig.data
    assert bar.yaxis == "y" and line.yaxis == "y2"
    assert fig.layout.yaxis2.title.text == "Completed"


def test_axis_titles_and_value_labels_have_room():
    """The duration title was wider than the plot and cut; the waterfall's outside labels had a
    10 px margin."""
    from components.figures import risk_drivers_figure

    durations = pd.DataFrame({"step": ["a"], "label": ["A → B"], "consecutive": [True], "n": [5], "p05": [1.0],
                              "p25": [2.0], "median": [3.0], "p75": [4.0], "p95": [9.0]})
    fig = durations_figure(durations)
    assert fig.layout.xaxis.automargin is True
    import re

    lines = [re.sub(r"<[^>]+>", "", line) for line in fig.layout.xaxis.title.text.split("<br>")]
    assert len(lines) == 2 and max(map(len, lines)) < 60
    drivers = pd.DataFrame({"label": ["Wait", "Age"], "contribution": [0.127, -0.09]})
    waterfall = risk_drivers_figure(drivers, reference_risk=0.05, risk=0.087)
    assert waterfall.layout.margin.r >= 40
    low, high = waterfall.layout.xaxis.range
    assert low < 0 < 0.05 + 0.127 + 0.12 <= high


def test_every_figure_carries_the_white_template_exactly_as_plotly_builds_it(monkeypatch):
    """The template is set from a serialised copy, without plotly's validation (9-15 ms a figure
    saved): the JSON the browser gets must equal what ``template="plotly_white"`` gives, key
    order included, and one figure's template must not be another's (a shared dict edited once
    would restyle every later figure)."""
    from dash._utils import to_json

    from components import figures

    builders = (lambda: empty_figure("x"), lambda: funnel_figure(_funnel()))
    fast = [to_json(build()) for build in builders]
    with monkeypatch.context() as patched:  # the validated way, as plotly sets a template by name
        patched.setattr(figures, "_set_template", lambda fig: fig.update_layout(template="plotly_white"))
        assert fast == [to_json(build()) for build in builders]
    first, second = empty_figure("a"), empty_figure("b")
    first.layout.template.layout.font.size = 99
    assert second.layout.template.layout.font.size != 99
    assert to_json(empty_figure("b")) == to_json(second)
