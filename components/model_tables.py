"""Tables for the Model page: the model comparison, the logistic-regression coefficients and
the subgroup grid. Inputs are parts of ``ModelBundle.report``; formatting lives here."""
from __future__ import annotations

import math

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import html

from components import formatting
from components.filters import SEX_LABELS
from data.readiness import MAX_MEANINGFUL_AUC_CI_WIDTH
from data.schema import PROGRAM_LABELS
from ml.drivers import FEATURE_LABELS
from ml.models import MODEL_LABELS

ORACLE = "oracle"
ORACLE_LABEL = "Oracle: the generator's true probability"
ORACLE_NOTE = "best achievable on this synthetic data"
# A subgroup whose mean predicted risk is off its observed rate by more than this is flagged.
GAP_FLAG = 0.03

SUBGROUP_ATTRIBUTES = {"sex": "Sex", "race_ethnicity": "Race/ethnicity", "payer": "Payer",
                       "age_band": "Age band", "program": "Program"}
_GROUP_LABELS = {"sex": SEX_LABELS, "program": PROGRAM_LABELS}

# (key, header, tooltip) of the comparison table, after the model column.
COMPARISON_COLUMNS = (
    ("roc_auc", "ROC-AUC (95% CI)", "Cross-validated, calibrated risk; CI from a bootstrap over patients"),
    ("roc_auc_at_decision", "ROC-AUC on decision day", "Only the rows on the day of the decision (no wait yet)"),
    ("pr_auc", "PR-AUC", "Average precision; dropout is the positive class"),
    ("brier", "Brier", "Mean squared error of the risk; lower is better"),
    ("ece", "ECE (before recal.)", "Expected calibration error over 10 equal-size bins; lower is better. "
                                   "In brackets: before Platt recalibration"),
    ("calibration", "Cal. slope / intercept", "Logistic recalibration of the outcome on the risk; ideal 1 / 0"),
    ("temporal_auc", "Temporal hold-out ROC-AUC", "Trained on outcomes final before the cut-off, tested on "
                                                  "decisions after it"),
    ("oracle_gap", "Gap to oracle", "Oracle ROC-AUC minus the model's, on the same held-out rows"),
)


def _number(value, digits: int = 3, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return formatting.MISSING
    value = round(value, digits) + 0.0  # no "−0.000"
    return f"{value:{'+' if signed else ''}.{digits}f}".replace("-", "−")


TOO_UNCERTAIN = "too uncertain"
WITHIN_CI = "within CI"


def auc_too_uncertain(model_metrics: dict) -> bool:
    """The model's 95% ROC-AUC interval is missing or wider than MAX_MEANINGFUL_AUC_CI_WIDTH:
    its figures cannot be read as accuracy or used to compare models."""
    low, high = model_metrics["roc_auc_ci"]
    width = high - low
    return not (width == width) or width > MAX_MEANINGFUL_AUC_CI_WIDTH  # NaN: no interval at all


def oracle_within_ci(report: dict, model_metrics: dict) -> bool:
    """The oracle's AUC lies inside the model's 95% interval: the gap is not distinguishable from zero."""
    low, high = model_metrics["roc_auc_ci"]
    oracle = report.get("oracle_roc_auc")
    return oracle is not None and not (oracle < low or oracle > high)  # NaN bounds count as covering


def oracle_gap_text(report: dict, model_metrics: dict) -> str:
    gap = _number(model_metrics.get("oracle_gap"))
    return f"{gap} ({WITHIN_CI})" if oracle_within_ci(report, model_metrics) else gap


def has_oracle(report: dict) -> bool:
    return report.get("oracle_roc_auc") is not None


def model_order(report: dict) -> list[str]:
    """Model names, the one behind the shown risk first."""
    primary = report["primary_model"]
    return [primary] + [name for name in report["models"] if name != primary]


def comparison_rows(report: dict) -> list[dict]:
    """One dict of display strings per model (shown model first), then the oracle when known."""
    rows = []
    for name in model_order(report):
        m = report["models"][name]
        low, high = m["roc_auc_ci"]
        uncertain = f" {TOO_UNCERTAIN}" if auc_too_uncertain(m) else ""
        rows.append({
            "model": name, "label": MODEL_LABELS.get(name, name), "primary": name == report["primary_model"],
            "roc_auc": f"{_number(m['roc_auc'])} ({_number(low)}–{_number(high)}){uncertain}",
            "roc_auc_at_decision": _number(m.get("roc_auc_at_decision")),
            "pr_auc": _number(m["pr_auc"]),
            "brier": _number(m["brier"]),
            "ece": f"{_number(m['ece'])} ({_number(m.get('raw_ece'))})",
            "calibration": f"{_number(m['calibration_slope'], 2)} / {_number(m['calibration_intercept'], 3, True)}",
            "temporal_auc": _number(m["temporal_holdout"]["roc_auc"]),
            "oracle_gap": oracle_gap_text(report, m),
        })
    if has_oracle(report):
        rows.append({key: formatting.MISSING for key, _, _ in COMPARISON_COLUMNS} | {
            "model": ORACLE, "label": ORACLE_LABEL, "primary": False,
            "roc_auc": _number(report["oracle_roc_auc"]),
            "roc_auc_at_decision": _number(report.get("oracle_roc_auc_at_decision")),
        })
    return rows


def _label_cell(row: dict) -> html.Td:
    if row["model"] == ORACLE:
        return html.Td([html.Div(ORACLE_LABEL), html.Div(ORACLE_NOTE, className="kpi-note")])
    badge = dbc.Badge("shown risk", color="primary", className="ms-2") if row["primary"] else None
    return html.Td([html.Strong(row["label"]), badge])


def comparison_table(report: dict) -> dbc.Table:
    """Both models side by side, with the oracle row and gap column only when the oracle is known."""
    columns = [c for c in COMPARISON_COLUMNS if c[0] != "oracle_gap" or has_oracle(report)]
    header = html.Thead(html.Tr([html.Th("Model")] + [html.Th(title, title=tip, className="text-end")
                                                      for _, title, tip in columns]))
    body = html.Tbody([
        html.Tr([_label_cell(row)] + [html.Td(row[key], className="text-end") for key, _, _ in columns],
                className="oracle-row" if row["model"] == ORACLE else None, **{"data-model": row["model"]})
        for row in comparison_rows(report)
    ])
    return dbc.Table([header, body], size="sm", hover=True, responsive=True, className="model-comparison mb-0")


def coefficient_level(column: str, feature: str) -> str:
    """The one-hot level a transformed column stands for ("" for a numeric feature)."""
    name = column.split("__", 1)[-1]
    if name == feature or not name.startswith(feature + "_"):
        return ""
    return name[len(feature) + 1:].replace("_", " ")


def coefficients_table(coefficients: list[dict], top: int = 15) -> dbc.Table:
    """The ``top`` logistic-regression coefficients by size, with readable feature names."""
    ranked = sorted(coefficients, key=lambda row: abs(row["coefficient"]), reverse=True)[:top]
    header = html.Thead(html.Tr([html.Th("Feature"), html.Th("Level"), html.Th("Coefficient", className="text-end"),
                                 html.Th("Effect on risk")]))
    body = html.Tbody([
        html.Tr([
            html.Td(FEATURE_LABELS.get(row["feature"], row["feature"])),
            html.Td(coefficient_level(row["column"], row["feature"]) or "per 1 SD", className="text-muted"),
            html.Td(_number(row["coefficient"], 2, signed=True), className="text-end"),
            html.Td("raises" if row["coefficient"] > 0 else "lowers",
                    className="effect-up" if row["coefficient"] > 0 else "effect-down"),
        ], **{"data-column": row["column"]})
        for row in ranked
    ])
    return dbc.Table([header, body], size="sm", hover=True, className="coefficients-table mb-0")


_PERCENT = {"function": f"params.value == null ? '{formatting.MISSING}' : params.value === '<11' ? '<11' : d3.format('.1%')(params.value)"}
_COUNT = {"function": f"params.value == null ? '{formatting.MISSING}' : params.value === '<11' ? '<11' : d3.format(',')(params.value)"}
_DECIMAL = {"function": f"params.value == null ? '{formatting.MISSING}' : params.value === '<11' ? '<11' : d3.format('.3f')(params.value)"}
_POINTS = {"function": f"params.value == null ? '{formatting.MISSING}' : params.value === '<11' ? '<11' : "
                       "d3.format('+.1f')(params.value * 100) + ' pts'"}


def subgroup_grid(grid_id: str) -> dag.AgGrid:
    """Discrimination and calibration per subgroup; the callback fills ``rowData``."""
    numeric = {"type": "rightAligned", "filter": "agNumberColumnFilter"}
    return dag.AgGrid(
        id=grid_id,
        columnDefs=[
            {"field": "attribute", "headerName": "Attribute", "filter": True, "flex": 1.3, "minWidth": 135},
            {"field": "group", "headerName": "Group", "filter": True, "flex": 1.8, "minWidth": 190,
             "tooltipField": "group"},
            {"field": "rows", "headerName": "Rows", "valueFormatter": _COUNT,
             "headerTooltip": "Landmark rows (decision points, re-scored while waiting) in this group", **numeric},
            {"field": "roc_auc", "headerName": "ROC-AUC", "valueFormatter": _DECIMAL, **numeric},
            {"field": "observed_rate", "headerName": "Observed dropout", "valueFormatter": _PERCENT, **numeric},
            {"field": "mean_predicted", "headerName": "Mean predicted", "valueFormatter": _PERCENT, **numeric},
            {"field": "calibration_gap", "headerName": "Calibration gap", "valueFormatter": _POINTS, "minWidth": 120,
             "headerTooltip": f"Mean predicted − observed; flagged beyond ±{GAP_FLAG:.0%}",
             "cellClassRules": {"gap-flag": f"params.value != null && Math.abs(params.value) > {GAP_FLAG}"},
             **numeric},
            {"field": "ece", "headerName": "ECE", "valueFormatter": _DECIMAL,
             "headerTooltip": "Expected calibration error within the group (5 bins)", **numeric},
        ],
        rowData=[],
        defaultColDef={"sortable": True, "resizable": True, "flex": 1, "minWidth": 80,
                       "wrapHeaderText": True, "autoHeaderHeight": True},
        dashGridOptions={"domLayout": "autoHeight", "animateRows": False, "tooltipShowDelay": 300},
        className="subgroup-grid",
    )


def features_summary(report: dict) -> html.Div | None:
    """The features both models used, and the ones the data could not support with the reason."""
    features = report.get("features")
    if not features:
        return None
    used = ", ".join(FEATURE_LABELS.get(f, f) for f in features["used"])
    dropped = features["dropped"]
    return html.Div([
        html.P([html.Strong(f"Used ({len(features['used'])}): "), used], className="mb-1 model-features-used"),
        html.Div([
            html.Strong("Left out of both models:"),
            html.Ul([html.Li(f"{FEATURE_LABELS.get(d['feature'], d['feature'])}: {d['reason']}",
                             **{"data-feature": d["feature"]}) for d in dropped], className="mb-0"),
        ], className="model-features-dropped") if dropped else html.P("No feature was left out.", className="mb-0"),
    ], className="model-features")


def skipped_subgroups_note(report: dict) -> str | None:
    """Which audit attributes the subgroup table leaves out because they have fewer than two values."""
    skipped = report.get("subgroups_skipped") or []
    if not skipped:
        return None
    names = ", ".join(f"{SUBGROUP_ATTRIBUTES.get(s['attribute'], s['attribute'])} ({s['reason']})" for s in skipped)
    return f"Not audited, fewer than two recorded values: {names}."


def subgroup_rows(subgroups: list[dict]) -> list[dict]:
    """Report subgroups as grid rows with readable attribute and group names."""
    return [{**{key: None if isinstance(value, float) and math.isnan(value) else value  # JSON has no NaN
                for key, value in row.items()},
             "attribute": SUBGROUP_ATTRIBUTES.get(row["attribute"], row["attribute"]),
             "group": _GROUP_LABELS.get(row["attribute"], {}).get(row["group"], row["group"])}
            for row in subgroups]
