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
from ml.risk.drivers import FEATURE_LABELS
from ml.risk.models import MODEL_LABELS

ORACLE = "oracle"
ORACLE_LABEL = "Oracle: the generator's true probability"
ORACLE_NOTE = "best achievable on this synthetic data"
# A subgroup whose mean predicted risk is off its observed rate by more than this is flagged.
GAP_FLAG = 0.03

SUBGROUP_ATTRIBUTES = {"sex": "Sex", "race_ethnicity": "Race/ethnicity", "payer": "Payer",
                       "age_band": "Age band", "program": "Program", "site": "Site"}
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


# --- Decision-day headline, calibration set, capacity and monitoring (issue 12) ---------------

def decision_day_headline(report: dict) -> dbc.Card | None:
    """The headline: the shown model's ROC-AUC on the decision day with its CI, beside the oracle's
    on the same rows; the pooled figure second, with why it is higher."""
    primary = report["primary_model"]
    m = report["models"][primary]
    day = m.get("decision_day")
    if not day or day.get("roc_auc") is None:
        return None
    low, high = day["roc_auc_ci"]
    oracle = (report.get("oracle") or {}).get("decision_day_roc_auc")
    facts = [html.Div([html.Span(_number(day["roc_auc"]), className="kpi-value headline-value me-1"),
                       html.Span(f" (95% CI {_number(low)}–{_number(high)})", className="text-muted")],
                      className="headline-auc", **{"data-value": f"{day['roc_auc']:.3f}"})]
    if oracle is not None:
        facts.append(html.Div([html.Span("Oracle on the same rows: "), html.Strong(_number(oracle)),
                               html.Span(f" (gap {_number(oracle - day['roc_auc'])})", className="text-muted")],
                              className="headline-oracle"))
    facts.append(html.P(
        f"ROC-AUC of {MODEL_LABELS.get(primary, primary)} on the decision day, where a coordinator first scores a "
        f"patient ({formatting.count(day['rows'])} decision points). Pooled over every landmark row (the decision "
        f"day and days 7 … 150 of waiting) it is {_number(m['roc_auc'])}: later landmarks are easier for every "
        "model and for the oracle, so the pooled figure rises with the landmark grid and overstates accuracy on "
        "the day of decision.", className="kpi-note mb-0"))
    return dbc.Card(dbc.CardBody([html.Div("Decision-day ROC-AUC (headline)", className="kpi-title"), *facts]),
                    className="model-headline mb-3")


def horizon_rows(report: dict) -> list[dict]:
    """The shown model's ROC-AUC by landmark (days waited), beside the oracle's."""
    m = report["models"][report["primary_model"]]
    return [{"waited_days": r["waited_days"], "rows": r["rows"], "roc_auc": r["roc_auc"],
             "oracle_roc_auc": r["oracle_roc_auc"]} for r in m.get("by_landmark", [])]


def horizon_table(report: dict) -> dbc.Table | None:
    m = report["models"][report["primary_model"]]
    if not m.get("by_landmark"):
        return None
    header = html.Thead(html.Tr([html.Th("Slice"), html.Th("Rows", className="text-end"),
                                 html.Th("ROC-AUC", className="text-end"), html.Th("Oracle", className="text-end")]))
    body = [html.Tr([html.Td(f"waited {r['waited_days']} days" if r["waited_days"] else "decision day"),
                     html.Td(formatting.count(r["rows"]), className="text-end"),
                     html.Td(_number(r["roc_auc"]), className="text-end"),
                     html.Td(_number(r["oracle_roc_auc"]), className="text-end")]) for r in horizon_rows(report)]
    body += [html.Tr([html.Td(f"decision day, awaiting {r['awaiting_stage'].replace('_', '-')}"),
                      html.Td(formatting.count(r["rows"]), className="text-end"),
                      html.Td(_number(r["roc_auc"]), className="text-end"),
                      html.Td(_number(r["oracle_roc_auc"]), className="text-end")]) for r in m.get("by_stage", [])]
    return dbc.Table([header, html.Tbody(body)], size="sm", hover=True, className="horizon-table mb-0")


# (key, header, tooltip, digits, signed)
CALIBRATION_COLUMNS = (
    ("calibration_in_the_large", "CITL", "Calibration-in-the-large: observed − mean predicted dropout", 3, True),
    ("calibration_slope", "Slope", "Logistic calibration slope; ideal 1", 2, False),
    ("ici", "ICI", "Integrated calibration index: mean |smoothed observed − predicted|", 3, False),
    ("e50", "E50", "Median |smoothed observed − predicted|", 3, False),
    ("e90", "E90", "90th percentile |smoothed observed − predicted|", 3, False),
    ("emax", "Emax", "Largest |smoothed observed − predicted|", 3, False),
)
TRUTH_COLUMNS = (
    ("binned", "Vs truth (binned)", "Mean predicted vs mean true probability in 10 equal-size bins"),
    ("mean_abs", "Vs truth (row by row)", "Mean |predicted − true probability|: calibration plus ranking error"),
)


def calibration_against_untreated(report: dict) -> bool:
    """True when the risk is the risk if no one calls (calls handled as drop-in, ml.risk.drop_in):
    its calibration is then measured against the uncalled rows' outcomes, IPC-weighted."""
    return bool((report.get("drop_in") or {}).get("handled"))


def calibration_denominator(report: dict) -> str:
    """One line: which outcomes the observed side of the calibration figure and table counts."""
    drop_in = report.get("drop_in") or {}
    rows = report.get("n_rows")
    if calibration_against_untreated(report):
        uncalled = rows - drop_in.get("censored_rows", 0) if rows is not None else None
        return (f"Observed = outcomes of the {formatting.count(uncalled)} of {formatting.count(rows)} held-out rows "
                "whose patient no one called, each weighted by 1 / P(staying uncalled) to stand for the called "
                "ones: the risk shown is the risk if no one calls.")
    if drop_in.get("fallback"):
        return (f"Observed = every realised outcome ({formatting.count(rows)} held-out rows), calls' rescues "
                f"included: calls in the history were not adjusted for ({drop_in.get('reason')}).")
    return f"Observed = every realised outcome ({formatting.count(rows)} held-out rows); nobody in the history was called."


def calibration_set_rows(report: dict) -> list[dict]:
    rows = []
    untreated = calibration_against_untreated(report)
    for name in model_order(report):
        m = report["models"][name]
        calibration = (m.get("calibration_untreated") if untreated else None) or m.get("calibration")
        if not calibration:
            continue
        row = {"model": name, "label": MODEL_LABELS.get(name, name)}
        row |= {key: _number(calibration[key], digits, signed) for key, _, _, digits, signed in CALIBRATION_COLUMNS}
        truth = m.get("oracle_calibration_error")
        if truth:
            worst = truth.get("worst_subgroup")
            row |= {key: _number(truth[key]) for key, _, _ in TRUTH_COLUMNS}
            row["worst"] = (f"{SUBGROUP_ATTRIBUTES.get(worst['attribute'], worst['attribute'])} {worst['group']}: "
                            f"{_number(worst['binned'])}") if worst else formatting.MISSING
        rows.append(row)
    return rows


def calibration_set_table(report: dict) -> dbc.Table | None:
    rows = calibration_set_rows(report)
    if not rows:
        return None
    truth = any("binned" in r for r in rows)
    columns = [(k, t, tip) for k, t, tip, _, _ in CALIBRATION_COLUMNS] + (
        [*TRUTH_COLUMNS, ("worst", "Worst subgroup vs truth", "Binned error in the worst subgroup of >= 500 rows")]
        if truth else [])
    header = html.Thead(html.Tr([html.Th("Model")] + [html.Th(t, title=tip, className="text-end")
                                                      for _, t, tip in columns]))
    body = html.Tbody([html.Tr([html.Td(r["label"])] + [html.Td(r.get(k, formatting.MISSING), className="text-end")
                                                         for k, _, _ in columns], **{"data-model": r["model"]})
                       for r in rows])
    return html.Div([html.Div(calibration_denominator(report), className="kpi-note calibration-denominator mb-2"),
                     dbc.Table([header, body], size="sm", hover=True, responsive=True, className="calibration-set mb-0")])


def capacity_rows(report: dict) -> list[dict]:
    """Capacity table rows for the shown model, the oracle and random calling (plain integer counts)."""
    decisions = report.get("decisions") or {}
    keep = {report["primary_model"], ORACLE, "random"}
    return [r for r in decisions.get("capacity", []) if r["ranking"] in keep]


RANKING_LABELS = {ORACLE: "Oracle (true probability)", "random": "Random"}


def capacity_table_view(report: dict) -> dbc.Table | None:
    rows = capacity_rows(report)
    if not rows:
        return None
    header = html.Thead(html.Tr([html.Th("Calls per week"), html.Th("Ranked by"),
                                 html.Th("Calls", className="text-end"),
                                 html.Th("Dropouts reached", className="text-end"),
                                 html.Th("Share of all dropouts", className="text-end"),
                                 html.Th("Calls per dropout reached", title="Number needed to call",
                                         className="text-end")]))
    body = html.Tbody([html.Tr([
        html.Td(str(r["calls_per_week"])),
        html.Td(RANKING_LABELS.get(r["ranking"], MODEL_LABELS.get(r["ranking"], r["ranking"]))),
        html.Td(formatting.count(r["calls"]), className="text-end"),
        html.Td(formatting.count(r["dropouts_reached"]), className="text-end"),
        html.Td(formatting.percent(r["share_of_dropouts"]) if r["share_of_dropouts"] is not None
                else formatting.MISSING, className="text-end"),
        html.Td(_number(r["calls_per_dropout_reached"], 2), className="text-end"),
    ], **{"data-ranking": r["ranking"], "data-capacity": str(r["calls_per_week"])}) for r in rows])
    return dbc.Table([header, body], size="sm", hover=True, className="capacity-table mb-0")


def monitoring_summary(report: dict) -> html.Div | None:
    """Status of today's in-progress patients against the training window, with the inputs that moved most."""
    current = (report.get("monitoring") or {}).get("current")
    if not current:
        return None
    status = (dbc.Alert("Alert: " + "; ".join(current["reasons"]), color="danger", className="mb-2")
              if current["alert"] else dbc.Alert("No input drift alert for today's in-progress patients.",
                                                 color="success", className="mb-2"))
    estimated = current["estimated"]
    check = (report.get("monitoring") or {}).get("estimate_check") or {}
    lines = []
    if estimated["roc_auc"] is not None:
        lines.append(f"Estimated before labels arrive for the {formatting.count(current['in_progress_patients'])} "
                     f"in-progress patients: dropout {formatting.percent(estimated['dropout_rate'])}, ROC-AUC "
                     f"{_number(estimated['roc_auc'])}.")
    if check.get("auc_mean_abs_error") is not None:
        lines.append(f"On the labelled history the label-free AUC estimate was off by "
                     f"{_number(check['auc_mean_abs_error'])} on average over {check['months']} months "
                     f"(mean estimated {_number(check['estimated_auc_mean'])}, realised "
                     f"{_number(check['realised_auc_mean'])}).")
    header = html.Thead(html.Tr([html.Th("Input"), html.Th("PSI", className="text-end"), html.Th("Status")]))
    body = html.Tbody([html.Tr([html.Td(FEATURE_LABELS.get(d["feature"], d["feature"])),
                                html.Td(_number(d["psi"]), className="text-end"), html.Td(d["status"])],
                               **{"data-feature": d["feature"], "data-status": d["status"]})
                       for d in current["drift"][:8]])
    return html.Div([status, *[html.P(line, className="mb-1") for line in lines],
                     dbc.Table([header, body], size="sm", hover=True, className="drift-table mb-0 mt-2")],
                    className="monitoring-summary")
