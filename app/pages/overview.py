"""Overview: headline KPIs, the stage funnel and monthly trends for the cohort."""
import dash
import dash_bootstrap_components as dbc
from dash import html

from callbacks import context
from components import ids
from components.cards import figure_card, kpi_card
from data.pathway import DEFAULT_PATHWAY

dash.register_page(__name__, path="/", name="Overview", title="CarePath · Overview", order=0)

def kpis(pathway) -> tuple[tuple[str, str, str], ...]:
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


def _pathway():
    return context.pathway() if context.is_ready() else DEFAULT_PATHWAY


def _as_of_note() -> str:
    if not context.is_ready():
        return ""
    dataset = context.current().dataset
    note = f"Data as of {dataset.as_of:%d %b %Y}"
    if dataset.manifest.get("as_of_inferred"):
        return note + (" (inferred from the latest event date: state it as as_of in the data folder's "
                       "dataset.toml or with CAREPATH_AS_OF).")
    return note + "."


def layout(**_query):  # Dash Pages passes the URL's query parameters; the filter panel reads them
    return html.Div([
        html.H1("Overview", className="page-title"),
        html.P(["Where patients are in the pathway and where they are lost. ", _as_of_note()],
               className="page-subtitle"),
        html.Div(id=ids.OVERVIEW_MESSAGE),
        html.Div([kpi_card(title, value_id, note) for title, value_id, note in kpis(_pathway())],
                 className="kpi-grid mb-3"),
        dbc.Row([
            dbc.Col(figure_card("Stage funnel", ids.FUNNEL_GRAPH,
                                footer=html.Div(id=ids.FUNNEL_TABLE)), xl=7),
            dbc.Col(figure_card("Monthly enrollment and completion", ids.TREND_GRAPH), xl=5),
        ]),
    ])
