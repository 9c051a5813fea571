"""Overview page callbacks: KPIs, stage funnel and monthly trend for the chosen cohort."""
from __future__ import annotations

from dataclasses import dataclass

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, html, no_update

from callbacks import access_scope, analytics, context, suppression
from components import formatting, ids
from components.cards import rate_with_counts
from components.figures import empty_figure, funnel_figure, trend_figure
from components.reconciliation import reconciliation_body
from components.tables import funnel_table
from data.cohorts import completion_reconciliation
from ml.scenarios.levers import ScenarioLevers
from data.readiness import OK

EMPTY_COHORT_MESSAGE = "No patients match these filters. Widen the filters or press Reset."
MODEL_PENDING = "model pending"
NO_MODEL = "no model"  # the data cannot support one; the Model page says why


@dataclass(frozen=True)
class OverviewView:
    """Everything the Overview page shows, in the order of the callback's outputs."""

    message: object
    patients: str
    screening_uptake: str
    completion_rate: str
    dropout_rate: str
    median_days_to_treatment: str
    in_progress: str
    high_risk: object
    funnel: go.Figure
    funnel_table: object
    trend: go.Figure

    def as_outputs(self) -> tuple:
        return (self.message, self.patients, self.screening_uptake, self.completion_rate, self.dropout_rate,
                self.median_days_to_treatment, self.in_progress, self.high_risk,
                self.funnel, self.funnel_table, self.trend)


def kpi_definitions(pathway) -> tuple[tuple[str, str, str], ...]:
    """(title, value id, subtitle) in the words of the pathway; each subtitle names the
    denominator (see data/cohorts.py)."""
    first = pathway.stages[0]
    led_on = " or ".join(first.result_label(r).lower() for r in first.leads_on) or first.done.lower()
    start = " or ".join(first.result_label(r) for r in first.leads_on) or first.label
    booked = [pathway.stage(s).label.lower() for s in pathway.decision_stages]
    booked_list = booked[0] if len(booked) == 1 else ", ".join(booked[:-1]) + " or " + booked[-1]
    milestone = pathway.stage(pathway.milestone).label.lower()
    return (
        ("Patients", ids.KPI_PATIENTS, "everyone enrolled in the cohort"),
        (f"{first.label} uptake", ids.KPI_SCREENING_UPTAKE,
         f"{first.done.lower()} ÷ ({first.done.lower()} + {first.missed.lower()}, window closed)"),
        ("Completion rate", ids.KPI_COMPLETION_RATE,
         f"{led_on} patients whose pathway resolved: completed ÷ (completed + dropped out)"),
        ("Dropout rate", ids.KPI_DROPOUT_RATE,
         f"dropped out at {booked_list}, same denominator; exits and in progress excluded"),
        (f"{start} → {milestone}", ids.KPI_MEDIAN_DAYS_TO_TREATMENT, f"median days, patients who reached {milestone}"),
        ("In progress", ids.KPI_IN_PROGRESS, "awaiting a stage whose window is still open"),
        ("Active high-risk patients", ids.KPI_HIGH_RISK, "from the dropout-risk model"),
    )


def high_risk_text(app_data: context.AppData, high: int):
    """``high``: patients in the cohort still in progress whose calibrated risk tier is High."""
    if not app_data.model_available:
        if app_data.models_unavailable:
            return html.Span(NO_MODEL, className="kpi-pending", title=app_data.models_unavailable)
        return html.Span(MODEL_PENDING, className="kpi-pending")
    return suppression.count_text(high) if access_scope.suppresses_small_counts() else formatting.count(high)


def as_of_notice(app_data: context.AppData) -> dbc.Alert | None:
    """The readiness finding on the as-of date when it is doubtful: every status here
    (in progress, dropped out) is counted against it."""
    readiness = app_data.readiness
    finding = None if readiness is None else next(
        (f for f in readiness.findings if f.rule.startswith("as_of") and f.status != OK), None)
    return None if finding is None else dbc.Alert(finding.message, color="warning", className="mb-3")


def overview_view(cohort_query: str | None) -> OverviewView:
    """Compute the Overview for the cohort in ``cohort_query`` (a URL query string)."""
    app_data = context.current()
    numbers = analytics.overview(context.cohort_filter(cohort_query))
    high_risk = high_risk_text(app_data, numbers.high_risk)
    if numbers.patients == 0:
        blank = empty_figure("No patients in this cohort")
        return OverviewView(
            message=dbc.Alert(EMPTY_COHORT_MESSAGE, color="warning", className="mb-3"),
            patients=formatting.count(0), screening_uptake=formatting.MISSING, completion_rate=formatting.MISSING,
            dropout_rate=formatting.MISSING, median_days_to_treatment=formatting.MISSING,
            in_progress=formatting.count(0), high_risk=high_risk,
            funnel=blank, funnel_table=None, trend=blank,
        )
    kpis, funnel = numbers.kpis, numbers.funnel
    resolved = kpis.resolved_after_positive_screen
    if access_scope.suppresses_small_counts():
        return _suppressed_view(app_data, numbers, high_risk)
    return OverviewView(
        message=as_of_notice(app_data),
        patients=formatting.count(kpis.patients),
        screening_uptake=rate_with_counts(formatting.percent(kpis.screening_uptake), kpis.screened,
                                          kpis.screened + kpis.not_screened),
        completion_rate=rate_with_counts(formatting.percent(kpis.completion_rate), kpis.completed, resolved),
        dropout_rate=rate_with_counts(formatting.percent(kpis.dropout_rate), kpis.dropped_out, resolved),
        median_days_to_treatment=formatting.days(kpis.median_days_to_milestone),
        in_progress=formatting.count(kpis.in_progress),
        high_risk=high_risk,
        funnel=funnel_figure(funnel),
        funnel_table=funnel_table(funnel),
        trend=trend_figure(numbers.trend),
    )


def _suppressed_view(app_data, numbers, high_risk) -> OverviewView:
    """The Overview for aggregate-only users: counts 1-10 and the rates and medians built on them read "<11"."""
    kpis, funnel = numbers.kpis, numbers.funnel
    resolved = kpis.resolved_after_positive_screen
    trend = suppression.trend(numbers.trend)
    return OverviewView(
        message=as_of_notice(app_data),
        patients=suppression.count_text(kpis.patients),
        screening_uptake=suppression.rate_text(kpis.screening_uptake, kpis.screened, kpis.screened + kpis.not_screened),
        completion_rate=suppression.rate_text(kpis.completion_rate, kpis.completed, resolved),
        dropout_rate=suppression.rate_text(kpis.dropout_rate, kpis.dropped_out, resolved),
        median_days_to_treatment=suppression.days_text(kpis.median_days_to_milestone, numbers.milestone_n),
        in_progress=suppression.count_text(kpis.in_progress),
        high_risk=high_risk,
        funnel=(empty_figure(suppression.SUPPRESSED_FIGURE) if suppression.has_small(funnel, ["patients", "drop_off"])
                else funnel_figure(funnel)),
        funnel_table=funnel_table(suppression.funnel(funnel)),
        trend=trend_figure(trend),
    )


def update_overview(cohort_query: str | None) -> tuple:
    return overview_view(cohort_query).as_outputs()


def reconciliation_view(cohort_query: str | None):
    """"How these numbers relate" for the cohort: computed only when the reader opens it."""
    frame = context.cohort_frame(cohort_query)
    if frame.empty:
        return EMPTY_COHORT_MESSAGE
    pathway = context.pathway()
    first = pathway.stages[0]
    labels = {"first": first.label, "screened": first.done, "not_screened": first.missed,
              "positive": " or ".join(first.result_label(r) for r in first.leads_on) or first.done}
    engine, adherence = context.current().scenarios, None
    if engine is not None:
        baseline = engine.project(ScenarioLevers(), cohort_ids=frame["patient_id"], with_truth=False, intervals=False)
        if baseline["patients"]:
            adherence = {"rate": baseline["baseline_completion_rate"], "patients": baseline["patients"]}
    counts = completion_reconciliation(frame, pathway)
    if access_scope.suppresses_small_counts():
        return reconciliation_body(counts, labels, adherence, count=suppression.count_text,
                                   rate=suppression.rate_of)
    return reconciliation_body(counts, labels, adherence)


def open_reconciliation(clicks, cohort_query: str | None) -> tuple:
    if not clicks:
        return no_update, no_update
    return reconciliation_view(cohort_query), True


def register_callbacks(app: Dash) -> None:
    app.callback(
        Output(ids.OVERVIEW_MESSAGE, "children"),
        Output(ids.KPI_PATIENTS, "children"),
        Output(ids.KPI_SCREENING_UPTAKE, "children"),
        Output(ids.KPI_COMPLETION_RATE, "children"),
        Output(ids.KPI_DROPOUT_RATE, "children"),
        Output(ids.KPI_MEDIAN_DAYS_TO_TREATMENT, "children"),
        Output(ids.KPI_IN_PROGRESS, "children"),
        Output(ids.KPI_HIGH_RISK, "children"),
        Output(ids.FUNNEL_GRAPH, "figure"),
        Output(ids.FUNNEL_TABLE, "children"),
        Output(ids.TREND_GRAPH, "figure"),
        Input(ids.COHORT_QUERY, "data"),
    )(update_overview)
    # "How these numbers relate" sits on the Overview, Pathways and Scenarios pages (one at a time).
    app.callback(
        Output(ids.RECONCILE_BODY, "children"),
        Output(ids.RECONCILE_MODAL, "is_open"),
        Input(ids.RECONCILE_BUTTON, "n_clicks"),
        State(ids.COHORT_QUERY, "data"),
        prevent_initial_call=True,
    )(open_reconciliation)
