"""Model page callbacks: both models' held-out metrics, ROC and calibration curves, feature
importance and subgroup performance, all read from the report computed at start-up."""
from __future__ import annotations

from dataclasses import dataclass

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Dash, Input, Output, html

from callbacks import access_scope, context, suppression
from data.input_errors import text_or_none
from components import formatting, ids
from components.figures import calibration_figure, empty_figure, importance_figure, model_colour, roc_figure
from components.model_figures import decision_curve_figure, monitoring_figure
from components.model_tables import (ORACLE, RANKING_LABELS, auc_too_uncertain, calibration_against_untreated,
                                     calibration_denominator, calibration_set_table,
                                     capacity_table_view, coefficients_table, comparison_table,
                                     decision_day_headline, features_summary, horizon_table, model_order,
                                     monitoring_summary, oracle_within_ci, skipped_subgroups_note, subgroup_rows)
from data.readiness import MAX_MEANINGFUL_AUC_CI_WIDTH
from ml.risk.drivers import FEATURE_LABELS
from ml.risk.models import MODEL_LABELS
from ml.sampling import PatientSample

NO_MODEL_MESSAGE = ("The dropout-risk models are not available yet. They are trained once when the app "
                    "starts; reload this page in a minute, or check the server log.")
PREDICTED = ("The probability that a patient at a decision point (a positive screen awaiting diagnosis, a "
             "diagnosis awaiting treatment, a treatment awaiting follow-up) drops out before completing the "
             "pathway. Features use only what was known at that moment.")


@dataclass(frozen=True)
class ModelView:
    """Everything the Model page shows except the subgroup grid, in the callback's output order."""

    message: object
    header: object
    comparison: object
    roc: go.Figure
    calibration: go.Figure
    importance: dict  # model name -> figure, in the order of ids.MODEL_IMPORTANCE_GRAPHS
    coefficients: object
    features: object = None  # the features used and those left out, with the reason
    subgroups_skipped: str | None = None  # audit attributes left out of the subgroup grid
    headline: object = None  # decision-day ROC-AUC beside the oracle's
    horizon: object = None  # ROC-AUC by landmark and by stage
    calibration_set: object = None
    decision_curve: go.Figure | None = None
    capacity: object = None
    monitoring: object = None
    monitoring_graph: go.Figure | None = None
    calibration_caption: str | None = None  # which outcomes "observed" counts (uncalled, weighted, or all)

    def as_outputs(self) -> tuple:
        blank = empty_figure("No trained model")
        return (self.message, self.header, self.comparison, self.roc, self.calibration,
                *(self.importance[name] for name in ids.MODEL_IMPORTANCE_GRAPHS), self.coefficients,
                self.features, self.subgroups_skipped, self.headline, self.horizon, self.calibration_set,
                self.decision_curve or blank, self.capacity, self.monitoring, self.monitoring_graph or blank,
                self.calibration_caption)


def no_model_text() -> str:
    """Why there is no model: the readiness rule the data missed, else 'not available yet'."""
    return context.current().models_unavailable or NO_MODEL_MESSAGE


def uncertainty_text(report: dict) -> str | None:
    """A warning when a model's ROC-AUC interval is too wide for its figures to mean much."""
    models = report["models"]
    wide = [name for name in model_order(report) if auc_too_uncertain(models[name])]
    if not wide:
        return None
    intervals = "; ".join(f"{MODEL_LABELS.get(name, name)} {models[name]['roc_auc_ci'][0]:.2f}–"
                          f"{models[name]['roc_auc_ci'][1]:.2f}" for name in wide)
    text = (f"Too uncertain to mean much: with {formatting.count(report['n_decision_points'])} labelled decision "
            f"points the 95% ROC-AUC intervals are wider than {MAX_MEANINGFUL_AUC_CI_WIDTH} ({intervals}). The "
            "figures below are labelled 'too uncertain'; do not read them as the model's accuracy or use them to "
            "choose between the models.")
    if any(oracle_within_ci(report, models[name]) for name in models):
        text += " The oracle's AUC lies within the interval, so the gap to it is not distinguishable from zero."
    return text


def _report() -> dict | None:
    models = context.current().models
    return None if models is None else models.report


def evaluation_text(report: dict) -> str:
    holdout = report["models"][report["primary_model"]]["temporal_holdout"]
    unavailable = f" (not available for this data: {holdout['unavailable']})" if holdout.get("unavailable") else ""
    return (f"{report['config']['n_folds']}-fold cross-validation grouped by patient (all of a patient's rows in "
            "one fold), risks calibrated with cross-fitted Platt scaling. A temporal hold-out trains only on "
            f"outcomes already final before {holdout['cutoff']} and tests on later decisions{unavailable}. Each "
            "decision point gives landmark rows on the decision day and while the patient is still waiting. "
            "Race/ethnicity is not a model input: it is used only for the fairness audit below. Features the data "
            "cannot support (not recorded for anyone, one value only, too few bookings) are left out of both "
            "models (listed below).")


def _fact(label: str, value: str) -> html.Div:
    return html.Div([html.Span(value, className="model-fact-value"), html.Span(label, className="model-fact-label")],
                    className="model-fact")


def header_strip(report: dict) -> dbc.Card:
    """What is predicted, how it is evaluated, on how much data, and which model drives the shown risk."""
    primary = MODEL_LABELS.get(report["primary_model"], report["primary_model"])
    return dbc.Card(dbc.CardBody(dbc.Row([
        dbc.Col([html.Div("What is predicted", className="kpi-title"), html.P(PREDICTED, className="mb-0")], lg=4),
        dbc.Col([html.Div("How it is evaluated", className="kpi-title"),
                 html.P(evaluation_text(report), className="mb-0")], lg=5),
        dbc.Col([
            html.Div("Data and shown risk", className="kpi-title"),
            _fact("labelled decision points", formatting.count(report["n_decision_points"])),
            _fact("landmark rows", formatting.count(report["n_rows"])),
            _fact("patients", formatting.count(report["n_patients"])),
            _fact("observed dropout", formatting.percent(report["observed_dropout_rate"])),
            *_sample_note(report),
            html.Div([html.Span("Shown risk: "), html.Strong(primary),
                      html.Span(" (higher cross-validated ROC-AUC)", className="text-muted")],
                     className="model-primary"),
        ], lg=3),
    ])), className="model-header mb-3")


def _sample_note(report: dict) -> list:
    """Where the training rows were sampled (ml.sampling), one line saying so: the counts above
    are the sample's."""
    sample = PatientSample.from_report(report.get("training_sample"))
    if sample is None or not sample.sampled:
        return []
    return [html.P(sample.sentence("landmark rows"), className="small text-muted mb-1 model-sample-note")]


def _legend_name(name: str, model_metrics: dict) -> str:
    uncertain = ", too uncertain" if auc_too_uncertain(model_metrics) else ""
    return f"{MODEL_LABELS.get(name, name)} (AUC {model_metrics['roc_auc']:.3f}{uncertain})"


def model_view() -> ModelView:
    """The Model page for the trained models (cohort filters do not apply: no retraining)."""
    report = _report()
    if report is not None and access_scope.suppresses_small_counts():
        report = suppression.model_report(report)
    if report is None:
        blank = empty_figure("No trained model")
        return ModelView(message=dbc.Alert(no_model_text(), color="warning", className="mb-3"), header=None,
                         comparison=None, roc=blank, calibration=blank,
                         importance={name: blank for name in ids.MODEL_IMPORTANCE_GRAPHS}, coefficients=None)
    order = model_order(report)
    models = report["models"]
    importance = {
        name: importance_figure(models[name]["permutation_importance"], FEATURE_LABELS,
                                colour=model_colour(order.index(name)))
        if name in models else empty_figure("Model not trained")
        for name in ids.MODEL_IMPORTANCE_GRAPHS
    }
    coefficients = models.get("logistic_regression", {}).get("coefficients")
    uncertain = uncertainty_text(report)
    return ModelView(
        message=dbc.Alert(uncertain, color="warning", className="mb-3") if uncertain else None,
        header=header_strip(report),
        comparison=comparison_table(report),
        roc=roc_figure({_legend_name(name, models[name]): models[name]["roc_curve"] for name in order}),
        calibration=_calibration_figure(report, order),
        calibration_caption=calibration_denominator(report),
        importance=importance,
        coefficients=coefficients_table(coefficients) if coefficients else None,
        features=features_summary(report),
        subgroups_skipped=skipped_subgroups_note(report),
        headline=decision_day_headline(report),
        horizon=horizon_table(report),
        calibration_set=calibration_set_table(report),
        decision_curve=_decision_curve(report, order),
        capacity=capacity_table_view(report),
        monitoring=monitoring_summary(report),
        monitoring_graph=_monitoring_graph(report),
    )


def _calibration_figure(report: dict, order: list[str]) -> go.Figure:
    """Binned calibration of each model: against the uncalled rows' outcomes, IPC-weighted, when
    the risk is the risk if no one calls (legend: their ICI); else against every outcome (ECE)."""
    models = report["models"]
    if calibration_against_untreated(report) and all(models[n].get("calibration_curve_untreated") for n in order):
        return calibration_figure({f"{MODEL_LABELS.get(n, n)} (ICI {models[n]['calibration_untreated']['ici']:.3f}, "
                                   "uncalled)": models[n]["calibration_curve_untreated"] for n in order})
    return calibration_figure({f"{MODEL_LABELS.get(n, n)} (ECE {models[n]['ece']:.3f})": models[n]["calibration_curve"]
                               for n in order})


def _decision_curve(report: dict, order: list[str]) -> go.Figure:
    decisions = report.get("decisions")
    if not decisions:
        return empty_figure("No decision curve in this model report")
    labels = {name: MODEL_LABELS.get(name, name) for name in order}
    if ORACLE in decisions["decision_curve"]:
        labels[ORACLE] = RANKING_LABELS[ORACLE]
    return decision_curve_figure(decisions["decision_curve"], labels)


def _monitoring_graph(report: dict) -> go.Figure:
    months = (report.get("monitoring") or {}).get("by_month")
    return monitoring_figure(months) if months else empty_figure("No labelled months to monitor")


def update_model(_pathname: str | None) -> tuple:
    return model_view().as_outputs()


def subgroup_view(model_name: str | None) -> list[dict]:
    """Grid rows for one model's subgroups (the shown model when none is chosen)."""
    model_name = text_or_none(model_name, "model", 80)
    report = _report()
    if report is None:
        return []
    model = report["models"].get(model_name or report["primary_model"]) or report["models"][report["primary_model"]]
    rows = subgroup_rows(model["subgroups"])
    return suppression.subgroup_rows(rows) if access_scope.suppresses_small_counts() else rows


def register_callbacks(app: Dash) -> None:
    # The report does not depend on the cohort, so the page is filled once when it opens.
    app.callback(
        Output(ids.MODEL_MESSAGE, "children"),
        Output(ids.MODEL_HEADER, "children"),
        Output(ids.MODEL_COMPARISON, "children"),
        Output(ids.MODEL_ROC_GRAPH, "figure"),
        Output(ids.MODEL_CALIBRATION_GRAPH, "figure"),
        *(Output(graph_id, "figure") for graph_id in ids.MODEL_IMPORTANCE_GRAPHS.values()),
        Output(ids.MODEL_COEFFICIENTS, "children"),
        Output(ids.MODEL_FEATURES, "children"),
        Output(ids.MODEL_SUBGROUP_SKIPPED, "children"),
        Output(ids.MODEL_HEADLINE, "children"),
        Output(ids.MODEL_HORIZON, "children"),
        Output(ids.MODEL_CALIBRATION_SET, "children"),
        Output(ids.MODEL_DECISION_CURVE_GRAPH, "figure"),
        Output(ids.MODEL_CAPACITY, "children"),
        Output(ids.MODEL_MONITORING, "children"),
        Output(ids.MODEL_MONITORING_GRAPH, "figure"),
        Output(ids.MODEL_CALIBRATION_CAPTION, "children"),
        Input(ids.URL, "pathname"),
    )(update_model)
    app.callback(
        Output(ids.MODEL_SUBGROUP_GRID, "rowData"),
        Input(ids.MODEL_SUBGROUP_MODEL, "value"),
    )(subgroup_view)
