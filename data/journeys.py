"""Journey derivation: turn the event log into one status row per patient and one
row per decision point, applying the pathway windows and censoring at the as-of date.

Everything is vectorised (events are pivoted by stage), so a million patients take
seconds, not minutes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data.pathway import DEFAULT_PATHWAY, Pathway

STATUS_COMPLETED = "completed"
STATUS_EXITED = "exited"
STATUS_DROPPED_OUT = "dropped_out"
STATUS_IN_PROGRESS = "in_progress"
STATUSES = (STATUS_COMPLETED, STATUS_EXITED, STATUS_DROPPED_OUT, STATUS_IN_PROGRESS)
STATUS_LABELS = {
    STATUS_COMPLETED: "Completed",
    STATUS_EXITED: "Appropriately exited",
    STATUS_DROPPED_OUT: "Dropped out",
    STATUS_IN_PROGRESS: "In progress",
}
# furthest_stage for a patient with no event at all.
STAGE_ENROLLED = "enrolled"


def duration_columns(pathway: Pathway = DEFAULT_PATHWAY) -> tuple[str, ...]:
    """Days between consecutive steps: enrollment -> first stage, then stage -> stage."""
    steps = ("enrollment", *pathway.stage_names)
    return tuple(f"days_{a}_to_{b}" for a, b in zip(steps[:-1], steps[1:]))


def journey_columns(pathway: Pathway = DEFAULT_PATHWAY) -> tuple[str, ...]:
    """The columns of ``derive_journeys`` for a pathway."""
    return (
        "patient_id", "program", "enrollment_date",
        *(f"{stage}_date" for stage in pathway.stage_names),
        *(f"{stage.name}_result" for stage in pathway.stages if stage.has_results),
        "furthest_stage", "status", "status_stage",
        "awaiting_since", "days_waiting", "next_appointment_date", "window_closes",
        *duration_columns(pathway),
        MILESTONE_DAYS,
    )


MILESTONE_DAYS = "days_to_milestone"
"""Days from the first decision point (a first-stage result that leads on) to the
pathway's milestone stage (treatment in the default pathway), for patients who had both."""
JOURNEY_COLUMNS = journey_columns(DEFAULT_PATHWAY)

# Columns of derive_decision_points that describe what happened after the decision
# point.  They are labels/outcomes: a model feature built from any of them leaks.
DECISION_OUTCOME_COLUMNS = ("next_stage_date", "pathway_outcome", "label_known", "dropped_out")

DECISION_POINT_COLUMNS = (
    "patient_id", "program", "awaiting_stage", "decision_date", "decision_site",
    "booked_date", "lead_days", "previous_stage_days", "missed_previous_appointment",
    "prior_decisions_missed", "days_since_enrollment", "window_closes", "outcome_known_date",
    *DECISION_OUTCOME_COLUMNS,
)

_NS = "datetime64[ns]"
_NAT = np.datetime64("NaT", "ns")
_DAY = np.timedelta64(1, "D")


def _as_of(as_of) -> np.datetime64:
    return np.datetime64(pd.Timestamp(as_of).normalize().to_datetime64(), "ns")


def _dates(values) -> np.ndarray:
    return pd.to_datetime(pd.Series(values)).dt.normalize().to_numpy(_NS)


def _days(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Float days between two date arrays, NaN where either is missing."""
    return (later - earlier) / _DAY


def _codes(values, categories: tuple) -> np.ndarray:
    """Position of each value in ``categories`` (-1 if absent or missing).

    Factorizing first keeps the string work to the few distinct values, which is
    much faster than a Categorical over millions of strings.
    """
    codes, uniques = pd.factorize(pd.Series(values))
    lookup = np.array([categories.index(u) if u in categories else -1 for u in uniques] + [-1], dtype="int64")
    return lookup[codes]  # factorize marks missing values -1, which picks the trailing -1


def _program_codes(programs: pd.Series, pathway: Pathway) -> np.ndarray:
    codes = _codes(programs, pathway.program_names)
    if (codes < 0).any():
        bad = sorted(pd.Series(programs)[codes < 0].astype(str).unique()[:5])
        raise ValueError(f"patients.program: values outside {pathway.program_names}: {bad}")
    return codes


def _window_days(pathway: Pathway, program_codes: np.ndarray, stage_codes: np.ndarray) -> np.ndarray:
    """Allowed window per row, looked up by (program, stage) code, as timedelta64[ns]."""
    table = np.array([[pathway.window_days(p, s) for s in pathway.stage_names] for p in pathway.program_names],
                     dtype="int64")
    return (table[program_codes, stage_codes] * _DAY).astype("timedelta64[ns]")


def _patient_positions(patient_ids: pd.Series, event_patient_ids: pd.Series) -> np.ndarray:
    """Row of each event's patient in ``patient_ids`` (-1 for unknown patients)."""
    n = len(patient_ids)
    codes, _ = pd.factorize(pd.concat([pd.Series(patient_ids), pd.Series(event_patient_ids)], ignore_index=True))
    # Codes follow first appearance, so unique patient ids are exactly 0..n-1.
    if not np.array_equal(codes[:n], np.arange(n)):
        dupes = pd.Series(patient_ids)[pd.Series(patient_ids).duplicated()].astype(str).unique()[:5]
        raise ValueError(f"patients.patient_id: must be unique and non-empty; repeated: {list(dupes)}")
    position = codes[n:].astype("int64")
    position[position >= n] = -1
    return position


def _pivot_events(patient_ids: pd.Series, events: pd.DataFrame, pathway: Pathway) -> dict[str, dict[str, np.ndarray]]:
    """Per stage, arrays aligned with patients: date, result code (into pathway.results),
    next_appointment, and row (position in ``events``; -1 when the stage is absent).

    Should a stage appear twice for a patient, its earliest event is used; events of
    unknown patients are ignored (the validator reports them).
    """
    n = len(patient_ids)
    position = _patient_positions(patient_ids, events["patient_id"])
    stages = pathway.stage_names
    stage_code = _codes(events["stage"], stages)
    date = _dates(events["date"])
    keep = (position >= 0) & (stage_code >= 0) & ~np.isnat(date)
    row = np.flatnonzero(keep)
    key = position[row] * len(stages) + stage_code[row]
    if len(key) and np.bincount(key).max() > 1:
        order = np.lexsort((date[row], key))
        key_sorted = key[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = key_sorted[1:] != key_sorted[:-1]
        row, key = row[order[first]], key_sorted[first]
    position, stage_code = key // len(stages), key % len(stages)

    result_all = _codes(events["result"], pathway.results)
    next_appt_all = _dates(events["next_appointment_date"])

    wide: dict[str, dict[str, np.ndarray]] = {}
    for code, stage in enumerate(stages):
        at = stage_code == code
        pos, rows = position[at], row[at]
        stage_row = np.full(n, -1, dtype="int64")
        stage_row[pos] = rows
        stage_wide = {
            "row": stage_row,
            "date": np.full(n, _NAT, dtype=_NS),
            "result": np.full(n, -1, dtype="int64"),
            "next_appointment": np.full(n, _NAT, dtype=_NS),
        }
        stage_wide["date"][pos] = date[rows]
        stage_wide["result"][pos] = result_all[rows]
        stage_wide["next_appointment"][pos] = next_appt_all[rows]
        wide[stage] = stage_wide
    return wide


def _result_strings(result_codes: np.ndarray, pathway: Pathway) -> np.ndarray:
    return np.array([*pathway.results, None], dtype=object)[result_codes]  # -1 picks None


def _leads_on(wide: dict[str, dict[str, np.ndarray]], stage, pathway: Pathway) -> np.ndarray:
    """Whether the stage's result (where it has results) makes the next stage indicated."""
    codes = wide[stage.name]["result"]
    if not stage.has_results:
        return np.ones(len(codes), dtype=bool)
    return np.isin(codes, [pathway.results.index(r) for r in stage.leads_on])


def _indicated(wide: dict[str, dict[str, np.ndarray]], pathway: Pathway) -> dict[str, np.ndarray]:
    """Per stage, whether the pathway indicated it (the first stage always; later stages
    only when the previous stage happened, was itself indicated, and led on)."""
    first = pathway.first_stage
    indicated = {first: np.ones(len(wide[first]["date"]), dtype=bool)}
    for stage in pathway.stages[:-1]:
        happened = wide[stage.name]["row"] >= 0
        indicated[pathway.next_stage[stage.name]] = (indicated[stage.name] & happened
                                                     & _leads_on(wide, stage, pathway))
    return indicated


def _journey_arrays(patients: pd.DataFrame, events: pd.DataFrame, as_of, pathway: Pathway) -> dict:
    as_of_day = _as_of(as_of)
    program_codes = _program_codes(patients["program"], pathway)
    enrollment = _dates(patients["enrollment_date"])
    wide = _pivot_events(patients["patient_id"], events, pathway)
    indicated = _indicated(wide, pathway)
    n = len(patients)
    stages = pathway.stage_names

    # Walking the pathway, the first indicated stage that did not happen is the one
    # the patient is awaiting (or missed); a happened stage that leads nowhere is an
    # appropriate exit.  Statuses and stages are kept as codes until the end.
    status = np.full(n, STATUSES.index(STATUS_COMPLETED), dtype="int64")
    status_stage = np.full(n, len(stages) - 1, dtype="int64")
    awaiting_code = np.full(n, -1, dtype="int64")
    decided = np.zeros(n, dtype=bool)
    for code, stage in enumerate(stages):
        happened = wide[stage]["row"] >= 0
        missing = indicated[stage] & ~happened & ~decided
        awaiting_code[missing] = code
        status_stage[missing] = code
        decided |= missing
        if stage in pathway.next_stage:
            exits = indicated[stage] & happened & ~indicated[pathway.next_stage[stage]] & ~decided
            status[exits] = STATUSES.index(STATUS_EXITED)
            status_stage[exits] = code
            decided |= exits

    waiting = awaiting_code >= 0
    decision_date = enrollment.copy()
    booked = np.full(n, _NAT, dtype=_NS)
    for code, stage in enumerate(stages[1:], start=1):
        at = awaiting_code == code
        previous = pathway.previous_stage[stage]
        decision_date[at] = wide[previous]["date"][at]
        booked[at] = wide[previous]["next_appointment"][at]
    closes = decision_date + _window_days(pathway, program_codes, np.where(waiting, awaiting_code, 0))
    dropped = waiting & (closes < as_of_day)
    in_progress = waiting & ~dropped
    status[dropped] = STATUSES.index(STATUS_DROPPED_OUT)
    status[in_progress] = STATUSES.index(STATUS_IN_PROGRESS)

    return {
        "as_of": as_of_day,
        "program_codes": program_codes,
        "enrollment": enrollment,
        "wide": wide,
        "indicated": indicated,
        "status": np.array(STATUSES, dtype=object)[status],
        "status_stage": np.array(stages, dtype=object)[status_stage],
        "awaiting_since": np.where(in_progress, decision_date, _NAT),
        "next_appointment": np.where(in_progress, booked, _NAT),
        "window_closes": np.where(in_progress, closes, _NAT),
    }


def derive_journeys(patients: pd.DataFrame, events: pd.DataFrame, as_of,
                    pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """One row per patient (in the order of ``patients``): stage dates, results,
    the journey status as of ``as_of`` and the days between stages.

    status is completed (the last stage happened), exited (a result that ends the
    pathway appropriately, e.g. a negative screen or a ruled-out diagnosis),
    dropped_out (an indicated stage did not happen and its window closed before
    ``as_of``) or in_progress (its window is still open: censored, never a dropout).
    status_stage is the stage completed, exited at, missed or awaited.
    awaiting_since, days_waiting, next_appointment_date and window_closes are set for
    in-progress patients only; next_appointment_date stays empty while awaiting the
    first stage, which is not booked.
    """
    arrays = _journey_arrays(patients, events, as_of, pathway)
    wide = arrays["wide"]
    stages = pathway.stage_names
    dates = {stage: wide[stage]["date"] for stage in stages}
    enrollment = arrays["enrollment"]
    n = len(patients)

    furthest = np.zeros(n, dtype="int64")  # index into (STAGE_ENROLLED, *stages)
    for code, stage in enumerate(stages, start=1):
        furthest[wide[stage]["row"] >= 0] = code

    first = pathway.stages[0]
    first_led_on = (wide[first.name]["row"] >= 0) & _leads_on(wide, first, pathway)
    steps = [enrollment, *(dates[stage] for stage in stages)]
    awaiting_since = arrays["awaiting_since"]
    frame = {
        "patient_id": patients["patient_id"].to_numpy(),
        "program": patients["program"].to_numpy(),
        "enrollment_date": enrollment,
        **{f"{stage}_date": dates[stage] for stage in stages},
        **{f"{stage.name}_result": _result_strings(wide[stage.name]["result"], pathway)
           for stage in pathway.stages if stage.has_results},
        "furthest_stage": np.array((STAGE_ENROLLED, *stages), dtype=object)[furthest],
        "status": arrays["status"],
        "status_stage": arrays["status_stage"],
        "awaiting_since": awaiting_since,
        "days_waiting": _days(np.full(n, arrays["as_of"]), awaiting_since),
        "next_appointment_date": arrays["next_appointment"],
        "window_closes": arrays["window_closes"],
        **{column: _days(later, earlier)
           for column, earlier, later in zip(duration_columns(pathway), steps[:-1], steps[1:])},
        MILESTONE_DAYS: np.where(first_led_on, _days(dates[pathway.milestone], dates[first.name]), np.nan),
    }
    return pd.DataFrame(frame, columns=list(journey_columns(pathway)))


def derive_decision_points(patients: pd.DataFrame, events: pd.DataFrame, as_of,
                           pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """One row per decision point: an event that indicated the next stage (positive
    screen → awaiting diagnosis, confirmed diagnosis → treatment, treatment →
    follow_up), sorted by (patient_id, decision_date).

    Known at the decision point (usable as features): patient_id, program,
    awaiting_stage, decision_date, decision_site, booked_date, lead_days
    (booked − decision, days), previous_stage_days (from the previous event, or
    enrollment for a positive screen), missed_previous_appointment (the decision
    event came later than the date the previous event booked for it; never for a
    screen, which is not booked), prior_decisions_missed (missed booked appointments
    in this pathway so far, this one included), days_since_enrollment, window_closes,
    outcome_known_date (decision_date + the outcome horizon: when the label becomes final).

    OUTCOMES — never features, they are dated after the decision point:
    next_stage_date (when the awaited stage happened), pathway_outcome (the
    patient's journey status as of ``as_of``), label_known (every remaining window
    has closed: decision_date + outcome_horizon_days < as_of) and dropped_out
    (Int8: 1 dropped out, 0 completed/exited, <NA> unless label_known).  Labelling
    whatever is known before the horizon would keep only fast completers.

    Only events on the indicated pathway count (e.g. a confirmed diagnosis after a
    negative screen is not a decision point).
    """
    arrays = _journey_arrays(patients, events, as_of, pathway)
    wide, indicated = arrays["wide"], arrays["indicated"]
    stages, previous_stage = pathway.stage_names, pathway.previous_stage
    enrollment = arrays["enrollment"]
    program_codes = arrays["program_codes"]
    patient_ids = patients["patient_id"].to_numpy()
    programs = patients["program"].to_numpy()
    n = len(patients)
    site_codes, sites = pd.factorize(events["site"])
    sites = np.append(sites.to_numpy(dtype=object), None)  # code -1 (missing) picks None

    # A decision event missed its own booking when it happened after the date the
    # previous event had booked for it; screening is never booked.
    missed = {pathway.first_stage: np.zeros(n, dtype=bool)}
    for stage in pathway.decision_stages:
        missed[stage] = wide[stage]["date"] > wide[previous_stage[stage]]["next_appointment"]  # NaT: False
    missed_so_far = dict(zip(stages, np.cumsum([missed[s] for s in stages], axis=0)))
    horizons = {awaiting: np.array([pathway.outcome_horizon_days(p, awaiting) for p in pathway.program_names],
                                   dtype="int64")
                for awaiting in pathway.decision_stages}

    parts = []
    for awaiting in pathway.decision_stages:
        stage = previous_stage[awaiting]
        at = np.flatnonzero(indicated[awaiting])
        decision_date = wide[stage]["date"][at]
        booked = wide[stage]["next_appointment"][at]
        previous_date = (enrollment if stage == stages[0] else wide[previous_stage[stage]]["date"])[at]
        window = _window_days(pathway, program_codes[at], np.full(len(at), stages.index(awaiting)))
        horizon = (horizons[awaiting][program_codes[at]] * _DAY).astype("timedelta64[ns]")
        parts.append(pd.DataFrame({
            "patient_id": patient_ids[at],
            "program": programs[at],
            "awaiting_stage": awaiting,
            "decision_date": decision_date,
            "decision_site": sites[site_codes[wide[stage]["row"][at]]],
            "booked_date": booked,
            "lead_days": _days(booked, decision_date),
            "previous_stage_days": _days(decision_date, previous_date),
            "missed_previous_appointment": missed[stage][at],
            "prior_decisions_missed": missed_so_far[stage][at],
            "days_since_enrollment": _days(decision_date, enrollment[at]),
            "window_closes": decision_date + window,
            "outcome_known_date": decision_date + horizon,
            "next_stage_date": wide[awaiting]["date"][at],
            "pathway_outcome": arrays["status"][at],
            "label_known": decision_date + horizon < arrays["as_of"],
            "_stage_order": stages.index(awaiting),
        }))

    points = pd.concat(parts, ignore_index=True)
    points = points.sort_values(["patient_id", "decision_date", "_stage_order"], kind="stable")
    points = points.drop(columns="_stage_order").reset_index(drop=True)
    outcome = points["pathway_outcome"]
    # In progress can only coexist with label_known when a stage happened after its
    # window closed (bad data); it still gets no label rather than a guessed one.
    labelled = points["label_known"] & outcome.ne(STATUS_IN_PROGRESS)
    dropped = pd.Series(pd.NA, index=points.index, dtype="Int8")
    dropped[labelled] = (outcome[labelled] == STATUS_DROPPED_OUT).astype("int8")
    points["dropped_out"] = dropped
    return points[list(DECISION_POINT_COLUMNS)]


# --- One patient's pathway facts (the Patient page reads these) -----------------------

def wait_column(stage: str, pathway: Pathway = DEFAULT_PATHWAY) -> str:
    """The journeys column holding the days from the step before ``stage`` to ``stage``."""
    return duration_columns(pathway)[pathway.stage_names.index(stage)]


def window_anchor_date(journey: pd.Series, stage: str, pathway: Pathway = DEFAULT_PATHWAY):
    """The date a stage's window counts from: the previous stage, or enrollment for the first."""
    previous = pathway.previous_stage.get(stage)
    return journey["enrollment_date" if previous is None else f"{previous}_date"]


def window_close_date(journey: pd.Series, stage: str, pathway: Pathway = DEFAULT_PATHWAY):
    """When the window for ``stage`` closes (or closed) for one patient's journey row."""
    if pd.notna(journey.get("window_closes")):
        return journey["window_closes"]
    anchor = window_anchor_date(journey, stage, pathway)
    if pd.isna(anchor):
        return None
    return pd.Timestamp(anchor) + pd.Timedelta(days=pathway.window_days(str(journey["program"]), stage))


def booked_date(events: pd.DataFrame, stage: str, pathway: Pathway = DEFAULT_PATHWAY):
    """The appointment booked for ``stage`` by the event before it (the first stage is never booked)."""
    previous = pathway.previous_stage.get(stage)
    if previous is None or events.empty:
        return None
    before = events[events["stage"] == previous]
    if before.empty or pd.isna(before["next_appointment_date"].iloc[-1]):
        return None
    return before["next_appointment_date"].iloc[-1]
