"""Patient page callbacks: one patient's status, what they wait for compared with the
cohort, their dropout risk and its drivers, their journey timeline and attributes."""
from __future__ import annotations

from dataclasses import dataclass, replace

import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output

from callbacks import access_scope, context
from callbacks.outreach import call_history_lines
from data.cohort_filter import apply_cohort
from data.input_errors import text_or_none
from components import ids
from components.figures import empty_figure, journey_timeline_figure, risk_drivers_figure
from components.patient_view import attributes_list, drivers_list, header_block, no_risk_block, risk_block
from components.worklist_table import booked_text
from data.journeys import STATUS_LABELS, booked_date, wait_column, window_close_date
from ml.risk.drivers import FAMILY, describe

PROMPT = "Enter a patient id above, or open a patient from the Worklist."
NOT_FOUND = "No patient with id “{patient_id}”. Check the id (it looks like P0001234) or open a patient from the Worklist."
OUTSIDE_COHORT = "This patient is outside the current cohort filters; they are shown anyway."
TOP_DRIVER_BARS = 8
OTHER_FACTORS = "All other factors"

STATUS_BADGE_COLOURS = {"completed": "success", "exited": "secondary", "dropped_out": "danger",
                        "in_progress": "warning"}
HIDDEN = {"display": "none"}


@dataclass(frozen=True)
class PatientView:
    """Everything the Patient page shows, in the order of the callback's outputs."""

    message: object
    details_hidden: bool
    header: object = None
    risk: object = None
    drivers_figure: go.Figure | None = None
    drivers_graph_style: dict | None = None
    drivers: object = None
    timeline: go.Figure | None = None
    attributes: object = None

    def as_outputs(self) -> tuple:
        blank = self.drivers_figure or empty_figure("")
        return (self.message, self.details_hidden, self.header, self.risk, blank,
                self.drivers_graph_style or {}, self.drivers, self.timeline or empty_figure(""),
                self.attributes)


# Ids look like P0001234; a user's own ids may be longer, but never this long. A longer
# "id" is refused, not looked up or echoed back in the not-found message.
MAX_PATIENT_ID_CHARS = 64


def normalise_patient_id(text) -> str:
    """The id as typed, trimmed and upper-cased; InvalidInput for anything but short text."""
    return (text_or_none(text, "patient id", MAX_PATIENT_ID_CHARS) or "").strip().upper()


def _day(value) -> str:
    return f"{pd.Timestamp(value):%d %b %Y}"


def _plural_days(n: int) -> str:
    return f"{n:,} day{'s' if n != 1 else ''}"


def _step(program: str, stage: str) -> str:
    return context.pathway().stage_name(program, stage)


def _is_first(stage: str) -> bool:
    return stage == context.pathway().first_stage


def _capital(text: str) -> str:
    """First letter up, the rest untouched ("A1c" stays "A1c", unlike str.capitalize)."""
    return text[:1].upper() + text[1:]


def _previous_step(program: str, stage: str) -> str:
    """"the positive stool test": the step whose result booked ``stage``."""
    pathway = context.pathway()
    previous = pathway.stage(pathway.previous_stage[stage])
    led_on = " or ".join(r.replace("_", " ") for r in previous.leads_on)
    # Only the first stage's result is worth naming ("the positive stool test"); later
    # steps read naturally on their own ("the colonoscopy").
    prefix = f"{led_on} " if previous.ends and previous.name == pathway.first_stage else ""
    return f"the {prefix}{_step(program, previous.name)}"


# --- The typical wait -------------------------------------------------------------

@dataclass(frozen=True)
class TypicalWait:
    median_days: float
    patients: int
    definition: str


def typical_wait(cohort_query: str | None, program: str, stage: str) -> TypicalWait | None:
    """Median days from the previous step (enrollment, for screening) to ``stage`` among
    patients of the same program in the cohort who had it. The risk-tier filter is left
    out: patients with a tier are still waiting, so they never had the step."""
    column = wait_column(stage, context.pathway())
    cohort = replace(context.cohort_filter(cohort_query), risk_tiers=())
    scope = "matching the cohort filters"
    frame = apply_cohort(context.current().cohort_frame, cohort, context.pathway())
    days = frame.loc[frame["program"] == program, column].dropna()
    if days.empty:
        frame = context.current().cohort_frame
        days = frame.loc[frame["program"] == program, column].dropna()
        scope = "in the whole population (none match the cohort filters)"
    if days.empty:
        return None
    start = "enrollment" if _is_first(stage) else _previous_step(program, stage)
    label = context.pathway().program_labels.get(program, program)
    definition = (f"time from {start} to the {_step(program, stage)} among "
                  f"{label.lower()} patients {scope} who had it")
    return TypicalWait(float(days.median()), int(len(days)), definition)


def waiting_lines(journey: pd.Series, events: pd.DataFrame, cohort_query: str | None, as_of) -> list[str]:
    """What an in-progress patient waits for, since when, against the typical wait, and
    where their booking and window stand."""
    program, stage = str(journey["program"]), str(journey["status_stage"])
    step = _step(program, stage)
    waited = int(journey["days_waiting"])
    since = "enrollment" if _is_first(stage) else _previous_step(program, stage)
    lines = [f"Waiting {_plural_days(waited)} for the {step}, since {since} on {_day(journey['awaiting_since'])}."]
    typical = typical_wait(cohort_query, program, stage)
    if typical is not None:
        gap = waited - typical.median_days
        comparison = ("about the typical wait" if abs(gap) < 1 else
                      f"{_plural_days(round(abs(gap)))} {'longer' if gap > 0 else 'shorter'} than typical so far")
        lines.append(f"Typical (median) {typical.definition}: {typical.median_days:,.0f} days "
                     f"(n = {typical.patients:,}). This patient: {comparison}.")
    booked = booked_date(events, stage, context.pathway())
    if booked is not None:
        until = int((pd.Timestamp(booked) - pd.Timestamp(as_of)).days)
        status = booked_text(booked, until).split(" · ", 1)[1]
        lines.append(f"Booked for {_day(booked)}: {status}.")
    elif _is_first(stage):
        lines.append(f"The {step} is not booked: the patient is invited and has not come in yet.")
    closes = window_close_date(journey, stage, context.pathway())
    if closes is not None:
        left = int((pd.Timestamp(closes) - pd.Timestamp(as_of)).days)
        lines.append(f"The window for the {step} closes on {_day(closes)} (in {_plural_days(left)}); "
                     "if it has not happened by then, the patient counts as dropped out.")
    return lines


def outcome_line(journey: pd.Series) -> str:
    program, stage, status = str(journey["program"]), str(journey["status_stage"]), str(journey["status"])
    step = _step(program, stage)
    if status == "completed":
        return f"Completed the pathway: {step} on {_day(journey[f'{context.pathway().last_stage}_date'])}."
    if status == "exited":
        result = journey.get(f"{stage}_result")
        result_text = str(result).replace("_", " ") if pd.notna(result) else "no further step indicated"
        return (f"Left the pathway appropriately: the {step} on {_day(journey[f'{stage}_date'])} came back "
                f"{result_text}, so no further step is needed.")
    closes = window_close_date(journey, stage, context.pathway())
    closed = f" (the window closed on {_day(closes)})" if closes is not None else ""
    return f"Dropped out: the {step} did not happen in time{closed}."


def missed_booking_line(journey: pd.Series, events: pd.DataFrame) -> list[str]:
    """For a dropout, the appointment that was booked and never attended (if any)."""
    if journey["status"] != "dropped_out":
        return []
    booked = booked_date(events, str(journey["status_stage"]), context.pathway())
    if booked is None:
        return []
    return [f"It was booked for {_day(booked)}; no visit was recorded."]


def unscored_reason(journey: pd.Series) -> str:
    program, stage, status = str(journey["program"]), str(journey["status_stage"]), str(journey["status"])
    if status == "completed":
        return "The pathway is complete."
    if status == "exited":
        return "The pathway ended appropriately; no further step is needed."
    if status == "dropped_out":
        return ("The patient has already dropped out: the window for the "
                f"{_step(program, stage)} has closed. The model scores patients who can still be reached.")
    if _is_first(stage):
        return (f"The patient is waiting for the {_step(program, stage)}, which is not booked. The model scores "
                "patients waiting for a booked stage.")
    no_model_reason = context.current().models_unavailable
    if no_model_reason:  # the data cannot support a model: say which rule, not "no score"
        return f"There is no dropout-risk score for this data. {no_model_reason}"
    return "The model has no score for this patient at the data's as-of date."


# --- Risk and its drivers -----------------------------------------------------------

def score_row(patient_id: str) -> pd.Series | None:
    scores = context.current().risk_scores
    if scores is None:
        return None
    match = scores[scores["patient_id"] == patient_id]
    return None if match.empty else match.iloc[0]


def driver_contributions(patient_id: str, top: int = TOP_DRIVER_BARS) -> pd.DataFrame:
    """The patient's Shapley contributions (probability units) in plain words, strongest
    first: features telling one story (ml.risk.drivers.FAMILY) are summed and worded once, as in
    the driver sentences; the rest are lumped into one bar, so the bars add up to
    risk − reference risk."""
    contributions = context.current().models.contributions
    row = contributions.loc[contributions["patient_id"] == patient_id].iloc[0].drop("patient_id").astype(float)
    features = context.patient_features(patient_id)
    families = row.groupby(lambda f: FAMILY.get(f, f)).sum()
    leaders = row.abs().groupby(lambda f: FAMILY.get(f, f)).idxmax()
    order = families.abs().sort_values(ascending=False, kind="stable").index
    strongest, rest = order[:top], order[top:]
    labels, values = [], []
    for family in strongest:
        label = describe(leaders[family], features, context.pathway())
        label = _capital(label)
        while label in labels:  # a category axis would merge equal labels
            label += " "
        labels.append(label)
        values.append(float(families[family]))
    if len(rest):
        labels.append(f"{OTHER_FACTORS} ({len(rest)})")
        values.append(float(families[rest].sum()))
    return pd.DataFrame({"label": labels, "contribution": values})


# --- Timeline and attributes --------------------------------------------------------

def _event_detail(program: str, event) -> str:
    parts = [f"<b>{_capital(_step(program, event.stage))}</b>", _day(event.date)]
    if pd.notna(event.result):
        parts.append(f"Result: {str(event.result).replace('_', ' ')}")
    if pd.notna(event.site):
        parts.append(f"Site: {event.site}")
    if pd.notna(event.billed_cost):
        parts.append(f"Billed: ${event.billed_cost:,.0f}")
    return "<br>".join(parts)


def timeline_figure(journey: pd.Series, events: pd.DataFrame, as_of) -> go.Figure:
    program, stage, status = str(journey["program"]), str(journey["status_stage"]), str(journey["status"])
    rows = ["Enrolled", *(_capital(_step(program, s)) for s in context.pathway().stage_names)]
    points = pd.DataFrame({
        "row": ["Enrolled", *(_capital(_step(program, s)) for s in events["stage"])],
        "date": [journey["enrollment_date"], *events["date"]],
        "detail": [f"<b>Enrolled</b><br>{_day(journey['enrollment_date'])}",
                   *(_event_detail(program, e) for e in events.itertuples(index=False))],
    })
    booked = window = None
    if status in ("in_progress", "dropped_out"):
        step = _step(program, stage)
        booked_on = booked_date(events, stage, context.pathway())
        if booked_on is not None:
            passed = pd.Timestamp(booked_on) < pd.Timestamp(as_of)
            until = int((pd.Timestamp(booked_on) - pd.Timestamp(as_of)).days)
            booked = {"row": _capital(step), "date": booked_on, "passed": passed,
                      "name": "Booked, not attended" if passed else "Booked, coming up",
                      "detail": f"<b>{_capital(step)} booked</b><br>{booked_text(booked_on, until)}"}
        closes = window_close_date(journey, stage, context.pathway())
        if closes is not None:
            word = "closes" if status == "in_progress" else "closed"
            window = {"date": closes, "label": f"Window {word} {pd.Timestamp(closes):%d %b}"}
    return journey_timeline_figure(rows, points, as_of, booked=booked, window_closes=window)


# Shown for an attribute the data does not hold for this patient: never a guess or a default.
NOT_RECORDED = "not recorded"


def _recorded(value, show) -> str:
    return NOT_RECORDED if pd.isna(value) else show(value)


def attribute_pairs(patient: pd.Series) -> list[tuple[str, str]]:
    """(label, value) of each patient attribute; optional attributes may be missing."""
    value = patient.get  # a column the data left out reads as missing, like an empty cell
    return [
        ("Age", _recorded(value("age"), lambda v: f"{int(v)}")),
        ("Sex", _recorded(value("sex"), lambda v: {"F": "Female", "M": "Male"}.get(str(v), str(v)))),
        ("Preferred language", _recorded(value("language"), str)),
        ("Payer", _recorded(value("payer"), str)),
        ("Region", _recorded(value("region"), lambda v: str(v).capitalize())),
        ("Home clinic site", _recorded(value("site"), str)),
        ("Area deprivation index", _recorded(value("adi"), lambda v: f"{int(v)} of 100 (higher = more deprived)")),
        ("Distance to clinic", _recorded(value("distance_km"), lambda v: f"{v:,.1f} km")),
        ("Comorbidity index", _recorded(value("comorbidity_index"), lambda v: f"{int(v)}")),
        ("No-shows, 12 months before enrollment", _recorded(value("prior_no_shows_12m"), lambda v: f"{int(v)}")),
        ("Visits, 12 months before enrollment", _recorded(value("prior_visits_12m"), lambda v: f"{int(v)}")),
        ("Patient-portal user", _recorded(value("portal_user"), lambda v: "Yes" if bool(v) else "No")),
        ("Estimated out-of-pocket cost", _recorded(value("est_out_of_pocket"), lambda v: f"${v:,.0f}")),
        ("Enrolled", _day(patient["enrollment_date"])),
    ]


# --- The page -------------------------------------------------------------------------

def _status_badge(journey: pd.Series) -> tuple[str, str]:
    status = str(journey["status"])
    return STATUS_LABELS.get(status, status), STATUS_BADGE_COLOURS.get(status, "secondary")


def patient_view(patient_text, cohort_query: str | None) -> PatientView:
    """Compute the Patient page for the id typed (or taken from the URL)."""
    patient_id = normalise_patient_id(patient_text)
    if not patient_id:
        return PatientView(dbc.Alert(PROMPT, color="info", className="mb-3"), True)
    patient = context.patient_record(patient_id)
    journey = context.patient_journey(patient_id)
    if patient is None or journey is None:
        return PatientView(dbc.Alert(NOT_FOUND.format(patient_id=patient_id), color="warning",
                                     className="mb-3 patient-not-found"), True)
    as_of = context.current().dataset.as_of
    events = context.patient_events(patient_id)
    program = str(journey["program"])
    in_cohort = patient_id in set(context.cohort_frame(cohort_query)["patient_id"])
    message = None if in_cohort else dbc.Alert(OUTSIDE_COHORT, color="light", className="mb-3")
    lines = (waiting_lines(journey, events, cohort_query, as_of) if journey["status"] == "in_progress"
             else [outcome_line(journey), *missed_booking_line(journey, events)])
    lines += call_history_lines(patient_id)
    header = header_block(patient_id, [(context.pathway().program_labels.get(program, program), "info"),
                                       _status_badge(journey)],
                          lines)
    score = score_row(patient_id)
    if score is None:
        risk, figure, style, drivers = no_risk_block(unscored_reason(journey)), None, HIDDEN, None
    else:
        risk = risk_block(float(score["risk"]), str(score["risk_tier"]), float(score["reference_risk"]))
        figure = risk_drivers_figure(driver_contributions(patient_id), float(score["reference_risk"]),
                                     float(score["risk"]))
        style, drivers = {"height": f"{figure.layout.height}px"}, drivers_list(list(score["drivers"]))
    return PatientView(
        message=message, details_hidden=False, header=header, risk=risk, drivers_figure=figure,
        drivers_graph_style=style, drivers=drivers, timeline=timeline_figure(journey, events, as_of),
        attributes=attributes_list(attribute_pairs(patient)),
    )


def update_patient(patient_text, _open_clicks, cohort_query: str | None) -> tuple:
    patient_id = normalise_patient_id(patient_text)
    if patient_id:
        access_scope.require_patient(patient_id)  # another site's patient: 403, nothing else
    view = patient_view(patient_text, cohort_query)
    if not view.details_hidden:
        access_scope.audit("patient_view", "/patient", [patient_id])
    return view.as_outputs()


# The cohort filter's URL writer (callbacks/filter_panel.py) rewrites the query string
# without ``id``; put the open patient's id back in front, so the address can be shared.
KEEP_PATIENT_ID_IN_URL = """
function(_written, patientId) {
    const id = (patientId || "").trim().toUpperCase();
    const params = new URLSearchParams(window.location.search);
    params.delete("id");
    const rest = params.toString();
    const search = id ? "?id=" + encodeURIComponent(id) + (rest ? "&" + rest : "") : (rest ? "?" + rest : "");
    if (window.location.search !== search) {
        window.history.replaceState(window.history.state, "", window.location.pathname + search + window.location.hash);
    }
    return search;
}
"""


def register_callbacks(app: Dash) -> None:
    app.callback(
        Output(ids.PATIENT_MESSAGE, "children"),
        Output(ids.PATIENT_DETAILS, "hidden"),
        Output(ids.PATIENT_HEADER, "children"),
        Output(ids.PATIENT_RISK, "children"),
        Output(ids.PATIENT_DRIVERS_GRAPH, "figure"),
        Output(ids.PATIENT_DRIVERS_GRAPH, "style"),
        Output(ids.PATIENT_DRIVERS_LIST, "children"),
        Output(ids.PATIENT_TIMELINE_GRAPH, "figure"),
        Output(ids.PATIENT_ATTRIBUTES, "children"),
        Input(ids.PATIENT_SEARCH, "value"),
        Input(ids.PATIENT_OPEN, "n_clicks"),
        Input(ids.COHORT_QUERY, "data"),
    )(update_patient)
    app.clientside_callback(
        KEEP_PATIENT_ID_IN_URL,
        Output(ids.PATIENT_URL_WRITTEN, "data"),
        Input(ids.URL_WRITTEN, "data"),
        Input(ids.PATIENT_SEARCH, "value"),
    )
