"""Model page views and tables called directly (no browser) on the small trained bundle."""
import copy
from dataclasses import replace

import dash_bootstrap_components as dbc
import pytest

from callbacks import context
from callbacks.model import NO_MODEL_MESSAGE, evaluation_text, model_view, subgroup_view, update_model
from components import ids
from components.model_tables import (GAP_FLAG, ORACLE, coefficient_level, coefficients_table, comparison_rows,
                                     comparison_table, subgroup_grid, subgroup_rows)
from ml.risk.drivers import FEATURE_LABELS
from ml.risk.models import MODEL_LABELS, MODEL_NAMES


def _table_rows(table):
    (_, body) = table.children
    return body.children


def _cell_texts(tr):
    return [td.children for td in tr.children[1:]]


@pytest.fixture
def report(app_data):
    return copy.deepcopy(app_data.models.report)


def test_comparison_table_shows_both_models_auc_from_the_report(report):
    table = comparison_table(report)
    rows = {tr.__dict__["data-model"]: tr for tr in _table_rows(table)}
    assert set(rows) == {*MODEL_NAMES, ORACLE}
    for name in MODEL_NAMES:
        metrics = report["models"][name]
        low, high = metrics["roc_auc_ci"]
        cells = _cell_texts(rows[name])
        assert cells[0] == f"{metrics['roc_auc']:.3f} ({low:.3f}–{high:.3f})"
        assert cells[2] == f"{metrics['pr_auc']:.3f}"
        assert cells[3] == f"{metrics['brier']:.3f}"
        assert f"{metrics['temporal_holdout']['roc_auc']:.3f}" in cells
    assert _cell_texts(rows[ORACLE])[0] == f"{report['oracle_roc_auc']:.3f}"
    assert "best achievable on this synthetic data" in str(rows[ORACLE].children[0])
    # The shown model comes first and carries the badge.
    first = _table_rows(table)[0]
    assert first.__dict__["data-model"] == report["primary_model"]
    assert "shown risk" in str(first.children[0])


def test_oracle_gap_is_the_difference_to_the_oracle(report):
    for row in comparison_rows(report)[:2]:
        gap = report["oracle_roc_auc"] - report["models"][row["model"]]["roc_auc"]
        assert row["oracle_gap"] == f"{gap:.3f}".replace("-", "−")


def test_without_oracle_there_is_no_oracle_row_or_gap_column(report):
    report["oracle_roc_auc"] = report["oracle_roc_auc_at_decision"] = None
    for name in MODEL_NAMES:
        report["models"][name].pop("oracle_gap", None)
    table = comparison_table(report)
    assert [tr.__dict__["data-model"] for tr in _table_rows(table)] == [report["primary_model"],
                                                                        *(n for n in MODEL_NAMES
                                                                          if n != report["primary_model"])]
    headers = [th.children for th in table.children[0].children.children]
    assert "Gap to oracle" not in headers and "Oracle" not in str(table)
    assert all(len(tr.children) == len(headers) for tr in _table_rows(table))


def test_negative_zero_is_not_shown(report):
    report["models"][report["primary_model"]]["calibration_intercept"] = -0.0001
    row = comparison_rows(report)[0]
    assert row["calibration"].endswith("+0.000")


def test_coefficient_table_ranks_by_size_with_readable_names():
    coefficients = [
        {"column": "numeric__lead_days", "coefficient": 0.4, "feature": "lead_days"},
        {"column": "categorical__awaiting_stage_follow_up", "coefficient": -1.2, "feature": "awaiting_stage"},
        {"column": "numeric__age", "coefficient": 0.01, "feature": "age"},
    ]
    rows = _table_rows(coefficients_table(coefficients, top=2))
    assert [[td.children for td in tr.children] for tr in rows] == [
        [FEATURE_LABELS["awaiting_stage"], "follow up", "−1.20", "lowers"],
        [FEATURE_LABELS["lead_days"], "per 1 SD", "+0.40", "raises"],
    ]
    assert coefficient_level("categorical__payer_Medicare", "payer") == "Medicare"
    assert coefficient_level("numeric__age", "age") == ""


def test_model_view_fills_every_part(app_data, report):
    view = model_view()
    assert view.message is None
    order = [report["primary_model"], *(n for n in MODEL_NAMES if n != report["primary_model"])]
    roc_names = [trace.name for trace in view.roc.data]
    assert roc_names[:2] == [f"{MODEL_LABELS[n]} (AUC {report['models'][n]['roc_auc']:.3f})" for n in order]
    assert list(view.roc.data[0].x) == report["models"][order[0]]["roc_curve"]["fpr"]
    # The small data's calls are handled as drop-in: calibration against the uncalled rows' outcomes.
    assert report["drop_in"]["handled"]
    assert list(view.calibration.data[0].y) == report["models"][order[0]]["calibration_curve_untreated"]["observed"]
    assert "no one called" in view.calibration_caption
    assert len(view.calibration.data) == 3
    for name in MODEL_NAMES:
        (bars,) = view.importance[name].data
        top = max(report["models"][name]["permutation_importance"], key=lambda r: r["auc_drop"])
        assert bars.y[-1] == FEATURE_LABELS.get(top["feature"], top["feature"])
    assert len(_table_rows(view.coefficients)) == 15
    header = str(view.header)
    assert f"{report['n_decision_points']:,}" in header and f"{report['n_patients']:,}" in header
    assert MODEL_LABELS[report["primary_model"]] in header
    assert "Race/ethnicity is not a model input" in evaluation_text(report)
    assert "grouped by patient" in evaluation_text(report)
    assert len(update_model("/model")) == 16 + len(ids.MODEL_IMPORTANCE_GRAPHS)


def test_subgroup_rows_follow_the_chosen_model(report):
    for name in MODEL_NAMES:
        rows = subgroup_view(name)
        subgroups = report["models"][name]["subgroups"]
        assert len(rows) == len(subgroups)
        assert [r["roc_auc"] for r in rows] == [s["roc_auc"] for s in subgroups]
    assert subgroup_view(None) == subgroup_view(report["primary_model"])
    attributes = {row["attribute"] for row in subgroup_view(None)}
    assert {"Sex", "Race/ethnicity", "Payer", "Age band", "Program", "Site"} >= attributes >= {"Sex", "Race/ethnicity"}


def test_subgroup_rows_are_readable_and_json_safe():
    rows = subgroup_rows([{"attribute": "sex", "group": "F", "rows": 60, "roc_auc": float("nan"),
                           "observed_rate": 0.5, "mean_predicted": 0.55, "calibration_gap": 0.05, "ece": 0.02}])
    assert rows == [{"attribute": "Sex", "group": "Female", "rows": 60, "roc_auc": None, "observed_rate": 0.5,
                     "mean_predicted": 0.55, "calibration_gap": 0.05, "ece": 0.02}]


def test_subgroup_grid_flags_large_calibration_gaps():
    gap = next(c for c in subgroup_grid("g").columnDefs if c["field"] == "calibration_gap")
    assert str(GAP_FLAG) in gap["cellClassRules"]["gap-flag"]


def test_without_models_the_page_says_so(app_data, monkeypatch):
    monkeypatch.setattr(context, "_current", replace(app_data, models=None))
    view = model_view()
    assert isinstance(view.message, dbc.Alert) and view.message.children == NO_MODEL_MESSAGE
    assert view.comparison is None and view.coefficients is None
    assert view.roc.layout.annotations[0].text
    assert subgroup_view("gradient_boosting") == []
