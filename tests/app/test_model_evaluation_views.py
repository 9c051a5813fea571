"""The Model page's decision-day headline, calibration set, decision curve, capacity table and
monitoring panel, called directly on the small trained bundle's report."""
import copy

import pytest

from callbacks.model import model_view
from components.model_figures import decision_curve_figure, monitoring_figure
from components.model_tables import (ORACLE, calibration_denominator, calibration_set_rows, capacity_rows,
                                     decision_day_headline, horizon_rows, monitoring_summary)


@pytest.fixture
def report(app_data):
    return copy.deepcopy(app_data.models.report)


def test_headline_is_the_decision_day_auc_not_the_pooled_one(report):
    """Bug guarded: leading with the pooled landmark AUC."""
    headline = str(decision_day_headline(report))
    day = report["models"][report["primary_model"]]["decision_day"]
    assert f"{day['roc_auc']:.3f}" in headline
    assert f"{report['oracle']['decision_day_roc_auc']:.3f}" in headline
    # the pooled figure appears only as the explained second number
    assert headline.index(f"{day['roc_auc']:.3f}") < headline.index("Pooled")


def test_horizon_rows_start_with_the_decision_day(report):
    rows = horizon_rows(report)
    assert rows[0]["waited_days"] == 0
    assert rows[0]["roc_auc"] == report["models"][report["primary_model"]]["decision_day"]["roc_auc"]


def test_calibration_set_shows_each_model_with_the_truth_columns(report):
    rows = calibration_set_rows(report)
    assert [r["model"] for r in rows][0] == report["primary_model"]
    shown = report["models"][report["primary_model"]]
    assert rows[0]["ici"] == f"{shown['calibration_untreated']['ici']:.3f}"
    assert rows[0]["binned"] == f"{shown['oracle_calibration_error']['binned']:.3f}"


def test_calibration_is_against_the_uncalled_outcomes_when_calls_are_handled_else_every_outcome(report):
    """Bug guarded: a risk if no one calls shown against outcomes that include the calls' rescues
    (it then looks over-predicting by about what the calls saved), or without saying which."""
    shown = report["models"][report["primary_model"]]
    assert report["drop_in"]["handled"]
    assert shown["calibration_untreated"]["ici"] != shown["calibration"]["ici"]
    uncalled = report["n_rows"] - report["drop_in"]["censored_rows"]
    caption = calibration_denominator(report)
    assert f"{uncalled:,} of {report['n_rows']:,}" in caption and "no one called" in caption
    citl = round(shown["calibration_untreated"]["calibration_in_the_large"], 3) + 0.0
    assert calibration_set_rows(report)[0]["calibration_in_the_large"] == f"{citl:+.3f}".replace("-", "−")
    # Fallback (the weights were not trusted): every realised outcome, and the caption says why.
    report["drop_in"] = {"handled": False, "fallback": True, "reason": "the weights are too uneven"}
    for model in report["models"].values():
        model["calibration_untreated"] = model["calibration_curve_untreated"] = None
    assert calibration_set_rows(report)[0]["ici"] == f"{shown['calibration']['ici']:.3f}"
    caption = calibration_denominator(report)
    assert "every realised outcome" in caption and "too uneven" in caption


def test_capacity_rows_keep_plain_integer_counts(report):
    rows = capacity_rows(report)
    assert {r["ranking"] for r in rows} == {report["primary_model"], ORACLE, "random"}
    assert all(isinstance(r["calls"], int) and isinstance(r["dropouts_reached"], int) for r in rows)


def test_decision_curve_and_monitoring_figures(report):
    curve = report["decisions"]["decision_curve"]
    fig = decision_curve_figure(curve, {report["primary_model"]: "Shown", ORACLE: "Oracle"})
    assert [t.name for t in fig.data] == ["Shown", "Oracle", "Call everybody", "Call nobody"]
    assert list(fig.data[2].y) == curve["treat_all"]
    months = report["monitoring"]["by_month"]
    fig = monitoring_figure(months)
    assert len(fig.data) == 4 and list(fig.data[0].x) == [m["month"] for m in months]


def test_model_view_fills_the_new_parts(app_data, report):
    view = model_view()
    assert view.headline is not None and view.calibration_set is not None and view.capacity is not None
    assert len(view.decision_curve.data) >= 4
    monitoring = str(view.monitoring)
    assert "No input drift alert" in monitoring or "Alert" in monitoring
    assert str(monitoring_summary(report)) == monitoring
