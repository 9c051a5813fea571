"""An appointment extract (one row per booked appointment) turned into each decision event's
FIRST booking for the next stage.

The first booking (earliest booked_on, then file order) is what the team knew on the
decision day. A reschedule or rebooking is made later; taking its date would leak the
future into the booked lead time the models use, so later bookings are counted, never used.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data.pathway import DEFAULT_PATHWAY, Pathway
from data.validation import Problem


def attach_first_bookings(events: pd.DataFrame, appointments: pd.DataFrame, as_of,
                          source: str, pathway: Pathway = DEFAULT_PATHWAY) -> tuple[pd.DataFrame, dict, list[Problem]]:
    """``events`` with next_appointment_date / next_appointment_booked_on from the first booking.

    ``appointments`` holds contract-named, typed columns (patient_id, stage, booked_on,
    appointment_date, status?). Returns (events, counts for the summary, problems).
    """
    stage = events["stage"].astype(str)
    # A decision event: a stage that leads on (a result among its leads_on, or no results at all).
    leads_on = {s.name: s.leads_on for s in pathway.stages if s.name in pathway.next_stage}
    result = events["result"].astype(str) if "result" in events else pd.Series("", index=events.index)
    decides = pd.Series(False, index=events.index)
    for name, wanted in leads_on.items():
        decides |= stage.eq(name) & (result.isin(wanted) if wanted else True)
    decisions = pd.DataFrame({
        "event_position": np.flatnonzero(decides.to_numpy()),
        "patient_id": events["patient_id"].astype(str).to_numpy()[decides.to_numpy()],
        "stage": stage[decides].map(pathway.next_stage).to_numpy(),
        "decision_date": events["date"].to_numpy()[decides.to_numpy()],
    })
    booked = appointments.assign(source_row=appointments.index, patient_id=appointments["patient_id"].astype(str),
                                 stage=appointments["stage"].astype(str))
    matched = booked.merge(decisions, on=["patient_id", "stage"], how="inner")
    before = matched["booked_on"] < matched["decision_date"]
    after_as_of = matched["booked_on"] > as_of if as_of is not None else pd.Series(False, index=matched.index)
    candidates = matched[~before & ~after_as_of]
    # Earliest booking first; the stable sort keeps file order among same-day bookings.
    candidates = candidates.sort_values(["event_position", "booked_on", "source_row"], kind="stable")
    first = candidates.drop_duplicates("event_position", keep="first")

    problems = []
    not_after = first["appointment_date"] <= first["decision_date"]
    if not_after.any():
        rows = first[not_after].head(5)
        problems.append(Problem(source, "appointment_date", "next_appointment_order",
                                f"{int(not_after.sum()):,} first bookings are for a day on or before the decision "
                                "event they follow",
                                [f"row {r.source_row}: patient_id={r.patient_id}, stage={r.stage}, "
                                 f"appointment_date='{r.appointment_date:%Y-%m-%d}', decision on "
                                 f"'{r.decision_date:%Y-%m-%d}'" for r in rows.itertuples()]))

    events = events.copy()
    for column, values in (("next_appointment_date", first["appointment_date"]),
                           ("next_appointment_booked_on", first["booked_on"])):
        filled = np.full(len(events), np.datetime64("NaT"), dtype="datetime64[ns]")
        filled[first["event_position"].to_numpy()] = values.to_numpy("datetime64[ns]")
        events[column] = filled
    counts = {
        "appointments": int(len(appointments)),
        "first_bookings_used": int(len(first)),
        "later_bookings_ignored": int(len(candidates) - len(first)),
        "booked_before_decision_ignored": int(before.sum()),
        "booked_after_as_of_ignored": int(after_as_of.sum()),
        "matching_no_decision_event": int(len(booked) - booked.merge(
            decisions[["patient_id", "stage"]].drop_duplicates(), on=["patient_id", "stage"]).shape[0]),
    }
    if "status" in first.columns:
        status = first["status"].dropna().astype(str).str.lower()
        counts["first_bookings_by_status"] = {k: int(v) for k, v in status.value_counts().items()}
    return events, counts, problems
