"""Journey derivation: turn the event log into one status row per patient and one
row per decision point, applying the pathway windows and censoring at the as-of date.

Everything is vectorised (events are pivoted by stage), so a million patients take
seconds, not minutes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data.pathway import ALLOWED_WINDOW_DAYS, DECISION_STAGES, PREVIOUS_STAGE, outcome_horizon_days
from data.schema import INDICATING_RESULT, NEXT_STAGE, PROGRAMS, STAGE_RESULTS, STAGES

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
FURTHEST_STAGES = (STAGE_ENROLLED, *STAGES)

JOURNEY_COLUMNS = (
    "patient_id", "program", "enrollment_date",
    *(f"{stage}_date" for stage in STAGES),
    "screening_result", "diagnosis_result",
    "furthest_stage", "status", "status_stage",
    "awaiting_since", "days_waiting", "next_appointment_date", "window_closes",
    "days_enrollment_to_screening", "days_screening_to_diagnosis",
    "days_diagnosis_to_treatment", "days_treatment_to_follow_up",
    "days_positive_screen_to_treatment",
)

# Columns of derive_decision_points that describe what happened after the decision
# point.  They are labels/outcomes: a model feature built from any of them leaks.
DECISION_OUTCOME_COLUMNS = ("next_stage_date", "pathway_outcome", "label_known", "dropped_out")

DECISION_POINT_COLUMNS = (
    "patient_id", "program", "awaiting_stage", "decision_date", "decision_site",
    "booked_date", "lead_days", "previous_stage_days", "missed_previous_appointment",
    "prior_decisions_missed", "days_since_enrollment", "window_closes",
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


def _program_codes(programs: pd.Series) -> np.ndarray:
    codes = _codes(programs, PROGRAMS)
    if (codes < 0).any():
        bad = sorted(pd.Series(programs)[codes < 0].astype(str).unique()[:5])
        raise ValueError(f"patients.program: values outside {PROGRAMS}: {bad}")
    return codes


def _window_days(program_codes: np.ndarray, stage_codes: np.ndarray) -> np.ndarray:
    """Allowed window per row, looked up by (program, stage) code, as timedelta64[ns]."""
    table = np.array([[ALLOWED_WINDOW_DAYS[p][s] for s in STAGES] for p in PROGRAMS], dtype="int64")
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


_RESULTS = tuple(r for results in STAGE_RESULTS.values() if results for r in results)


def _pivot_events(patient_ids: pd.Series, events: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """Per stage, arrays aligned with patients: date, result code (into _RESULTS),
    next_appointment, and row (position in ``events``; -1 when the stage is absent).

    Should a stage appear twice for a patient, its earliest event is used; events of
    unknown patients are ignored (the validator reports them).
    """
    n = len(patient_ids)
    position = _patient_positions(patient_ids, events["patient_id"])
    stage_code = _codes(events["stage"], STAGES)
    date = _dates(events["date"])
    keep = (position >= 0) & (stage_code >= 0) & ~np.isnat(date)
    row = np.flatnonzero(keep)
    key = position[row] * len(STAGES) + stage_code[row]
    if len(key) and np.bincount(key).max() > 1:
        order = np.lexsort((date[row], key))
        key_sorted = key[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = key_sorted[1:] != key_sorted[:-1]
        row, key = row[order[first]], key_sorted[first]
    position, stage_code = key // len(STAGES), key % len(STAGES)

    result_all = _codes(events["result"], _RESULTS)
    next_appt_all = _dates(events["next_appointment_date"])

    wide: dict[str, dict[str, np.ndarray]] = {}
    for code, stage in enumerate(STAGES):
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


def _result_strings(result_codes: np.ndarray) -> np.ndarray:
    return np.array([*_RESULTS, None], dtype=object)[result_codes]  # -1 picks None


def _indicated(wide: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per stage, whether the pathway indicated it (screening always; later stages
    only when the previous stage happened, was itself indicated, and led on)."""
    n = len(wide[STAGES[0]]["date"])
    indicated = {STAGES[0]: np.ones(n, dtype=bool)}
    for stage in STAGES[:-1]:
        happened = wide[stage]["row"] >= 0
        wanted = INDICATING_RESULT[stage]
        leads_on = np.ones(n, dtype=bool) if wanted is None else wide[stage]["result"] == _RESULTS.index(wanted)
        indicated[NEXT_STAGE[stage]] = indicated[stage] & happened & leads_on
    return indicated


def _journey_arrays(patients: pd.DataFrame, events: pd.DataFrame, as_of) -> dict:
    as_of_day = _as_of(as_of)
    program_codes = _program_codes(patients["program"])
    enrollment = _dates(patients["enrollment_date"])
    wide = _pivot_events(patients["patient_id"], events)
    indicated = _indicated(wide)
    n = len(patients)

    # Walking the pathway, the first indicated stage that did not happen is the one
    # the patient is awaiting (or missed); a happened stage that leads nowhere is an
    # appropriate exit.  Statuses and stages are kept as codes until the end.
    status = np.full(n, STATUSES.index(STATUS_COMPLETED), dtype="int64")
    status_stage = np.full(n, len(STAGES) - 1, dtype="int64")
    awaiting_code = np.full(n, -1, dtype="int64")
    decided = np.zeros(n, dtype=bool)
    for code, stage in enumerate(STAGES):
        happened = wide[stage]["row"] >= 0
        missing = indicated[stage] & ~happened & ~decided
        awaiting_code[missing] = code
        status_stage[missing] = code
        decided |= missing
        if stage in NEXT_STAGE:
            exits = indicated[stage] & happened & ~indicated[NEXT_STAGE[stage]] & ~decided
            status[exits] = STATUSES.index(STATUS_EXITED)
            status_stage[exits] = code
            decided |= exits

    waiting = awaiting_code >= 0
    decision_date = enrollment.copy()
    booked = np.full(n, _NAT, dtype=_NS)
    for code, stage in enumerate(STAGES[1:], start=1):
        at = awaiting_code == code
        previous = PREVIOUS_STAGE[stage]
        decision_date[at] = wide[previous]["date"][at]
        booked[at] = wide[previous]["next_appointment"][at]
    closes = decision_date + _window_days(program_codes, np.where(waiting, awaiting_code, 0))
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
        "status_stage": np.array(STAGES, dtype=object)[status_stage],
        "awaiting_since": np.where(in_progress, decision_date, _NAT),
        "next_appointment": np.where(in_progress, booked, _NAT),
        "window_closes": np.where(in_progress, closes, _NAT),
    }


def derive_journeys(patients: pd.DataFrame, events: pd.DataFrame, as_of) -> pd.DataFrame:
    """One row per patient (in the order of ``patients``): stage dates, results,
    the journey status as of ``as_of`` and the days between stages.

    status is completed (follow-up happened), exited (negative screen or ruled-out
    diagnosis), dropped_out (an indicated stage did not happen and its window closed
    before ``as_of``) or in_progress (its window is still open: censored, never a
    dropout).  status_stage is the stage completed, exited at, missed or awaited.
    awaiting_since, days_waiting, next_appointment_date and window_closes are set for
    in-progress patients only; next_appointment_date stays empty while awaiting
    screening, which is not booked.
    """
    arrays = _journey_arrays(patients, events, as_of)
    wide = arrays["wide"]
    dates = {stage: wide[stage]["date"] for stage in STAGES}
    enrollment = arrays["enrollment"]
    n = len(patients)

    furthest = np.zeros(n, dtype="int64")  # index into FURTHEST_STAGES
    for code, stage in enumerate(STAGES, start=1):
        furthest[wide[stage]["row"] >= 0] = code

    positive_screen = wide["screening"]["result"] == _RESULTS.index(INDICATING_RESULT["screening"])
    awaiting_since = arrays["awaiting_since"]
    frame = {
        "patient_id": patients["patient_id"].to_numpy(),
        "program": patients["program"].to_numpy(),
        "enrollment_date": enrollment,
        **{f"{stage}_date": dates[stage] for stage in STAGES},
        "screening_result": _result_strings(wide["screening"]["result"]),
        "diagnosis_result": _result_strings(wide["diagnosis"]["result"]),
        "furthest_stage": np.array(FURTHEST_STAGES, dtype=object)[furthest],
        "status": arrays["status"],
        "status_stage": arrays["status_stage"],
        "awaiting_since": awaiting_since,
        "days_waiting": _days(np.full(n, arrays["as_of"]), awaiting_since),
        "next_appointment_date": arrays["next_appointment"],
        "window_closes": arrays["window_closes"],
        "days_enrollment_to_screening": _days(dates["screening"], enrollment),
        "days_screening_to_diagnosis": _days(dates["diagnosis"], dates["screening"]),
        "days_diagnosis_to_treatment": _days(dates["treatment"], dates["diagnosis"]),
        "days_treatment_to_follow_up": _days(dates["follow_up"], dates["treatment"]),
        "days_positive_screen_to_treatment": np.where(
            positive_screen, _days(dates["treatment"], dates["screening"]), np.nan),
    }
    return pd.DataFrame(frame, columns=list(JOURNEY_COLUMNS))


def derive_decision_points(patients: pd.DataFrame, events: pd.DataFrame, as_of) -> pd.DataFrame:
    """One row per decision point: an event that indicated the next stage (positive
    screen → awaiting diagnosis, confirmed diagnosis → treatment, treatment →
    follow_up), sorted by (patient_id, decision_date).

    Known at the decision point (usable as features): patient_id, program,
    awaiting_stage, decision_date, decision_site, booked_date, lead_days
    (booked − decision, days), previous_stage_days (from the previous event, or
    enrollment for a positive screen), missed_previous_appointment (the decision
    event came later than the date the previous event booked for it; never for a
    screen, which is not booked), prior_decisions_missed (missed booked appointments
    in this pathway so far, this one included), days_since_enrollment, window_closes.

    OUTCOMES — never features, they are dated after the decision point:
    next_stage_date (when the awaited stage happened), pathway_outcome (the
    patient's journey status as of ``as_of``), label_known (every remaining window
    has closed: decision_date + outcome_horizon_days < as_of) and dropped_out
    (Int8: 1 dropped out, 0 completed/exited, <NA> unless label_known).  Labelling
    whatever is known before the horizon would keep only fast completers.

    Only events on the indicated pathway count (e.g. a confirmed diagnosis after a
    negative screen is not a decision point).
    """
    arrays = _journey_arrays(patients, events, as_of)
    wide, indicated = arrays["wide"], arrays["indicated"]
    enrollment = arrays["enrollment"]
    program_codes = arrays["program_codes"]
    patient_ids = patients["patient_id"].to_numpy()
    programs = patients["program"].to_numpy()
    n = len(patients)
    site_codes, sites = pd.factorize(events["site"])
    sites = np.append(sites.to_numpy(dtype=object), None)  # code -1 (missing) picks None

    # A decision event missed its own booking when it happened after the date the
    # previous event had booked for it; screening is never booked.
    missed = {"screening": np.zeros(n, dtype=bool)}
    for stage in STAGES[1:]:
        missed[stage] = wide[stage]["date"] > wide[PREVIOUS_STAGE[stage]]["next_appointment"]  # NaT: False
    missed_so_far = dict(zip(STAGES, np.cumsum([missed[s] for s in STAGES], axis=0)))
    horizons = {awaiting: np.array([outcome_horizon_days(p, awaiting) for p in PROGRAMS], dtype="int64")
                for awaiting in DECISION_STAGES}

    parts = []
    for awaiting in DECISION_STAGES:
        stage = PREVIOUS_STAGE[awaiting]
        at = np.flatnonzero(indicated[awaiting])
        decision_date = wide[stage]["date"][at]
        booked = wide[stage]["next_appointment"][at]
        previous_date = (enrollment if stage == STAGES[0] else wide[PREVIOUS_STAGE[stage]]["date"])[at]
        window = _window_days(program_codes[at], np.full(len(at), STAGES.index(awaiting)))
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
            "next_stage_date": wide[awaiting]["date"][at],
            "pathway_outcome": arrays["status"][at],
            "label_known": decision_date + horizon < arrays["as_of"],
            "_stage_order": STAGES.index(awaiting),
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
