"""Scenarios figure builder: the baseline vs scenario funnel."""
import pandas as pd
import plotly.graph_objects as go
import pytest

from components.figures import scenario_funnel_figure


def _funnel():
    return pd.DataFrame({"step": ["Positive screen", "Diagnosed", "Followed up"],
                         "baseline": [500.0, 350.0, 130.4], "scenario": [500.0, 380.0, 160.6]})


def test_scenario_funnel_is_grouped_baseline_and_scenario_bars():
    fig = scenario_funnel_figure(_funnel())
    assert isinstance(fig, go.Figure)
    assert fig.layout.barmode == "group"
    baseline, scenario = fig.data
    assert (baseline.name, scenario.name) == ("Baseline", "Scenario")
    assert list(baseline.x) == list(scenario.x) == ["Positive screen", "Diagnosed", "Followed up"]
    assert list(baseline.y) == [500.0, 350.0, 130.4]
    assert list(scenario.y) == [500.0, 380.0, 160.6]
    assert list(scenario.text) == ["500", "380", "161"]
    # The change from baseline is on hover, signed.
    assert list(scenario.customdata) == pytest.approx([0.0, 30.0, 30.2])
    assert "%{customdata:+,.0f}" in scenario.hovertemplate


def test_scenario_funnel_accepts_the_engine_output(app_data):
    from ml.scenarios.arithmetic import FUNNEL_STEPS
    from ml.scenarios.levers import PRESETS

    result = app_data.scenarios.project(PRESETS["shorter_waits"], with_truth=False)
    fig = scenario_funnel_figure(pd.DataFrame(result["funnel"]))
    assert list(fig.data[0].x) == list(FUNNEL_STEPS)
    assert fig.data[1].y[-1] > fig.data[0].y[-1]  # shorter waits: more patients followed up
