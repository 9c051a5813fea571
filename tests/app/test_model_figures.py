"""Model-page figure builders on tiny hand-made inputs with known answers."""
import plotly.graph_objects as go

from components.figures import BRAND, MODEL_PALETTE, calibration_figure, importance_figure, roc_figure


def test_roc_figure_draws_each_model_then_the_diagonal():
    fig = roc_figure({"A (AUC 0.750)": {"fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1]},
                      "B (AUC 0.600)": {"fpr": [0, 1], "tpr": [0, 1]}})
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 3
    first, second, chance = fig.data
    assert (first.name, list(first.x), list(first.y)) == ("A (AUC 0.750)", [0, 0.5, 1], [0, 0.8, 1])
    assert second.name == "B (AUC 0.600)"
    assert [list(chance.x), list(chance.y)] == [[0, 1], [0, 1]] and chance.name.startswith("Chance")
    assert first.line.color == BRAND and second.line.color == MODEL_PALETTE[1]
    assert fig.layout.xaxis.tickformat == ".0%"


def test_calibration_figure_plots_bins_and_the_ideal_line():
    fig = calibration_figure({"A": {"predicted": [0.1, 0.5, 0.9], "observed": [0.2, 0.5, 0.8],
                                    "rows": [10, 20, 30]}})
    assert len(fig.data) == 2
    model, ideal = fig.data
    assert list(model.x) == [0.1, 0.5, 0.9] and list(model.y) == [0.2, 0.5, 0.8]
    assert list(model.customdata) == [10, 20, 30]
    assert "rows" in model.hovertemplate
    assert model.mode == "lines+markers"
    assert (list(ideal.x), list(ideal.y)) == ([0, 1], [0, 1]) and ideal.name == "Perfect calibration"


def test_calibration_figure_without_row_counts():
    (model, _) = calibration_figure({"A": {"predicted": [0.3], "observed": [0.4]}}).data
    assert model.customdata is None and "rows" not in model.hovertemplate


def test_importance_figure_keeps_the_top_features_largest_on_top_with_labels():
    importance = [{"feature": "b", "auc_drop": 0.05}, {"feature": "a", "auc_drop": 0.20},
                  {"feature": "c", "auc_drop": -0.01}, {"feature": "d", "auc_drop": 0.10}]
    fig = importance_figure(importance, labels={"a": "Alpha", "d": "Delta"}, top=3, colour="#123456")
    (bars,) = fig.data
    assert bars.orientation == "h"
    # Plotly draws the first category at the bottom, so the largest comes last.
    assert list(bars.y) == ["b", "Delta", "Alpha"]
    assert list(bars.x) == [0.05, 0.10, 0.20]
    assert list(bars.text) == ["0.050", "0.100", "0.200"]
    assert bars.marker.color == "#123456"
    assert "ROC-AUC" in fig.layout.xaxis.title.text


def test_importance_figure_defaults_to_twelve_bars():
    importance = [{"feature": f"f{i}", "auc_drop": i / 100} for i in range(20)]
    (bars,) = importance_figure(importance).data
    assert len(bars.y) == 12 and bars.y[-1] == "f19"


def test_importance_axis_leaves_room_for_the_value_labels():
    fig = importance_figure([{"feature": "a", "auc_drop": 0.1}, {"feature": "b", "auc_drop": -0.02}])
    low, high = fig.layout.xaxis.range
    assert low < -0.02 and high > 0.1
