"""Quality page pieces (layout only): the measure's definition, its headline with
numerator and denominator, the by-site table and the numerator gap's patient links."""
from __future__ import annotations

from urllib.parse import quote

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import formatting
from components.journey_view import share_text

PATIENT_PAGE = "/patient"
GAP_LIST_LIMIT = 200


def definition_text(measure, pathway, program: str) -> html.Div:
    index = pathway.stage_name(program, measure.index_stage)
    results = " or ".join(pathway.stage(measure.index_stage).result_label(r).lower() for r in measure.index_results)
    follow_up = pathway.stage_name(program, measure.follow_up_stage)
    ages = ("" if measure.age_min is None and measure.age_max is None
            else f", aged {measure.age_min if measure.age_min is not None else 0}–"
                 f"{measure.age_max if measure.age_max is not None else 120} at the {index}")
    return html.Div([
        html.P([html.Strong("Denominator: "),
                (f"{pathway.program_labels[program]} patients with a {index} result “{results}”{ages}, "
                 f"whose {measure.within_days}-day window has closed by the as-of date.")]),
        html.P([html.Strong("Numerator: "), f"those with a {follow_up} 0–{measure.within_days} days after the {index}."]),
        html.P([html.Strong("Listed apart: "),
                ("patients whose window is still open (not yet evaluable), outside the age range, "
                 "or with no age recorded.")]),
        html.P(f"Follows {measure.reference}." if measure.reference else "", className="text-muted small mb-0"),
    ], className="measure-definition")


def _count(value) -> str:
    """A count, or the text a suppressed cell already carries (callbacks.suppression)."""
    return value if isinstance(value, str) else formatting.count(value)


def _share(row) -> str:
    if isinstance(row["rate"], str):  # suppressed: numerator and denominator too
        return row["rate"]
    return share_text(row["numerator"], row["denominator"])


def _interval(row) -> str:
    if isinstance(row["rate_lower"], str):
        return row["rate_lower"]
    if row["denominator"] == 0:
        return formatting.MISSING
    return f"{formatting.percent(row['rate_lower'])}–{formatting.percent(row['rate_upper'])}"


def _excluded(row) -> str:
    if "excluded" in row.index:
        return _count(row["excluded"])
    return _count(row["excluded_age_out_of_range"] + row["excluded_age_not_recorded"])


def summary(overall) -> dbc.Row:
    """Headline cards from a one-row ``data.measures.rate_table``."""
    row = overall.iloc[0]

    def card(title, value, note=""):
        return dbc.Col(dbc.Card(dbc.CardBody([html.Div(title, className="kpi-title"),
                                              html.Div(value, className="kpi-value"),
                                              html.Div(note, className="kpi-note")]), className="kpi-card h-100"),
                       md=6, xl=3, className="mb-3")

    return dbc.Row([
        card("Rate (numerator / denominator)", _share(row),
             f"95 % interval (Wilson) {_interval(row)}"),
        card("Numerator gap", _count(row["gap"]), "in the denominator, follow-up not within the window"),
        card("Not yet evaluable", _count(row["not_yet_evaluable"]), "window still open at the as-of date"),
        card("Excluded", _excluded(row),
             f"age out of range {_count(row['excluded_age_out_of_range'])} · "
             f"age not recorded {_count(row['excluded_age_not_recorded'])}"),
    ], className="quality-summary")


def rate_table(table, group_label: str) -> dbc.Table:
    """``data.measures.rate_table`` rows, each rate with its numerator and denominator."""
    header = html.Thead(html.Tr([html.Th(group_label), html.Th("Rate (met / denominator)", className="text-end"),
                                 html.Th("95 % interval", className="text-end"),
                                 html.Th("Gap", className="text-end"),
                                 html.Th("Not yet evaluable", className="text-end"),
                                 html.Th("Excluded (age)", className="text-end")]))
    rows = [html.Tr([
        html.Td(row["group"]),
        html.Td(_share(row), className="text-end"),
        html.Td(_interval(row), className="text-end"),
        html.Td(_count(row["gap"]), className="text-end"),
        html.Td(_count(row["not_yet_evaluable"]), className="text-end"),
        html.Td(_excluded(row), className="text-end"),
    ], **{"data-group": row["group"]}) for _, row in table.iterrows()]
    return dbc.Table([header, html.Tbody(rows)], size="sm", hover=True, responsive=True, className="rate-table mb-0")


def patient_href(patient_id: str, cohort_query: str | None) -> str:
    extra = (cohort_query or "").lstrip("?")
    return f"{PATIENT_PAGE}?id={quote(str(patient_id))}" + (f"&{extra}" if extra else "")


def gap_patient_links(patient_ids: list[str], cohort_query: str | None, follow_up_name: str) -> html.Details:
    """The patients in the numerator gap, each a link to their Patient page (patient-level)."""
    shown = patient_ids[:GAP_LIST_LIMIT]
    more = len(patient_ids) - len(shown)
    return html.Details([
        html.Summary(f"{len(patient_ids):,} patients in the numerator gap (no {follow_up_name} within the window)"),
        html.Div([dcc.Link(pid, href=patient_href(pid, cohort_query), className="gap-patient-link me-2")
                  for pid in shown]
                 + ([html.Span(f"… and {more:,} more", className="text-muted")] if more else []),
                 className="gap-patient-list"),
    ], className="quality-gap-details")
