"""The cohort filter panel shared by every page (layout only; the URL sync lives in
``callbacks/filter_panel.py`` and the filter logic in ``data/cohort_filter.py``)."""
from __future__ import annotations

import datetime as dt

import dash_bootstrap_components as dbc
from dash import dcc, html

from data.cohort_filter import AGE_BOUNDS, RISK_TIER_LABELS, RISK_TIERS
from components import ids
from data.schema import PAYERS, PROGRAM_LABELS, RACE_ETHNICITIES, REGIONS, SEXES

SEX_LABELS = {"F": "Female", "M": "Male"}
# Thresholds as in ml.risk.drivers.risk_tier (calibrated risk of dropping out).
RISK_TIER_OPTION_LABELS = {"high": f"{RISK_TIER_LABELS['high']} (70% or more)",
                           "medium": f"{RISK_TIER_LABELS['medium']} (40–70%)",
                           "low": f"{RISK_TIER_LABELS['low']} (under 40%)"}
RISK_TIER_HINT = "Only patients awaiting a booked stage have a risk score; choosing a tier keeps only them."


def _options(values, labels=None) -> list[dict]:
    labels = labels or {}
    return [{"label": labels.get(v, v), "value": v} for v in values]


# A field whose attribute the data lacks stays in the layout, hidden: the URL-sync callbacks
# read and write every control, and a missing component would be an error in the browser.
HIDDEN = {"display": "none"}


def _multi_select(component_id: str, label: str, options: list[dict], placeholder: str = "All",
                  disabled: bool = False, hidden: bool = False) -> html.Div:
    return html.Div([
        dbc.Label(label, html_for=component_id, className="filter-label"),
        dcc.Dropdown(id=component_id, options=options, value=[], multi=True,
                     placeholder=placeholder, disabled=disabled),
    ], className="filter-field", style=HIDDEN if hidden else None)


def filter_panel(sites: tuple[str, ...], enrolled_first: dt.date, enrolled_last: dt.date,
                 hidden_fields: tuple[str, ...] = (), program_labels: dict[str, str] | None = None) -> html.Div:
    """Controls start at "everyone"; a callback then sets them from the URL.

    ``program_labels`` are the pathway's programs (data.pathway.Pathway.program_labels).

    ``hidden_fields`` (data.cohort_filter.ATTRIBUTE_FIELDS keys) are fields whose attribute
    the data does not record or records with one value: there is nothing to choose."""
    low, high = AGE_BOUNDS
    return html.Div([
        html.Div([
            html.H2("Cohort", className="filter-title"),
            dbc.Button("Reset", id=ids.FILTER_RESET, size="sm", color="link", className="filter-reset"),
        ], className="filter-header"),
        _multi_select(ids.FILTER_PROGRAM, "Program", _options(tuple(program_labels or PROGRAM_LABELS),
                                                              program_labels or PROGRAM_LABELS)),
        html.Div([
            dbc.Label("Age", html_for=ids.FILTER_AGE, className="filter-label"),
            dcc.RangeSlider(id=ids.FILTER_AGE, min=low, max=high, step=1, value=[low, high],
                            marks={a: str(a) for a in (18, 40, 65, 100)},
                            tooltip={"placement": "bottom"}, allowCross=False),
        ], className="filter-field", style=HIDDEN if "age" in hidden_fields else None),
        _multi_select(ids.FILTER_SEX, "Sex", _options(SEXES, SEX_LABELS), hidden="sexes" in hidden_fields),
        _multi_select(ids.FILTER_RACE_ETHNICITY, "Race / ethnicity", _options(RACE_ETHNICITIES),
                      hidden="race_ethnicities" in hidden_fields),
        _multi_select(ids.FILTER_PAYER, "Payer", _options(PAYERS), hidden="payers" in hidden_fields),
        _multi_select(ids.FILTER_REGION, "Region", _options(REGIONS, {r: r.capitalize() for r in REGIONS}),
                      hidden="regions" in hidden_fields),
        _multi_select(ids.FILTER_SITE, "Site", _options(sites), hidden="sites" in hidden_fields),
        html.Div([
            dbc.Label("Enrollment period", html_for=ids.FILTER_ENROLLMENT, className="filter-label"),
            dcc.DatePickerRange(id=ids.FILTER_ENROLLMENT, min_date_allowed=enrolled_first,
                                max_date_allowed=enrolled_last, initial_visible_month=enrolled_last,
                                start_date_placeholder_text="From", end_date_placeholder_text="To",
                                display_format="YYYY-MM-DD", clearable=True),
        ], className="filter-field"),
        _multi_select(ids.FILTER_RISK_TIER, "Risk tier", _options(RISK_TIERS, RISK_TIER_OPTION_LABELS)),
        html.Div(RISK_TIER_HINT, className="filter-hint"),
    ], id=ids.FILTER_PANEL, className="filter-panel")
