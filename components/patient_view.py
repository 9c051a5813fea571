"""Layout factories for the Patient page: the search bar, the header, the risk block,
the driver sentences and the attributes list. Values come in already worded."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import formatting, ids

TIER_BADGE_COLOURS = {"High": "danger", "Medium": "warning", "Low": "success"}


def search_bar(patient_id: str | None) -> dbc.InputGroup:
    """Patient id box: Enter, leaving the box, or Open looks the patient up."""
    return dbc.InputGroup([
        dbc.InputGroupText("Patient id"),
        dcc.Input(id=ids.PATIENT_SEARCH, type="text", value=patient_id or "", debounce=True,
                  placeholder="e.g. P0001234", className="form-control patient-search-input",
                  autoComplete="off", spellCheck=False),
        dbc.Button("Open", id=ids.PATIENT_OPEN, color="primary"),
    ], className="patient-search mb-3")


def header_block(patient_id: str, badges: list[tuple[str, str]], lines: list) -> html.Div:
    """Patient id with program/status badges, then one sentence per line."""
    return html.Div([
        html.Div([
            html.H2(patient_id, className="patient-id"),
            *(dbc.Badge(text, color=colour, className="patient-badge") for text, colour in badges),
        ], className="patient-title"),
        *(html.P(line, className="patient-fact") for line in lines),
    ])


def risk_block(risk: float, tier: str, reference_risk: float) -> html.Div:
    return html.Div([
        html.Div([
            html.Span(formatting.percent(risk), className="patient-risk-value"),
            dbc.Badge(f"{tier} risk", color=TIER_BADGE_COLOURS.get(tier, "secondary"),
                      className="patient-risk-tier"),
        ], className="patient-risk-headline"),
        html.P(f"Calibrated: about {risk * 100:.0f} in 100 patients like this drop out before completing "
               f"the pathway. A typical patient: {formatting.percent(reference_risk)}.",
               className="patient-risk-note"),
    ])


def no_risk_block(reason: str) -> dbc.Alert:
    return dbc.Alert([html.Strong("No risk score. "), reason], color="secondary", className="mb-0")


def drivers_list(drivers: list[dict]) -> html.Div:
    """The top drivers as sentences, red for those raising risk, green for those lowering it."""
    if not drivers:
        return html.Div()
    return html.Div([
        html.Div("Why: top drivers", className="kpi-title"),
        html.Ul([html.Li(d["text"], className="driver-up" if d["points"] > 0 else "driver-down")
                 for d in drivers], className="drivers-list"),
    ])


def attributes_list(pairs: list[tuple[str, str]]) -> html.Dl:
    items = []
    for label, value in pairs:
        items += [html.Dt(label), html.Dd(value)]
    return html.Dl(items, className="patient-attributes")
