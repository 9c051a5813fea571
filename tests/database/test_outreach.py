"""The outreach repository on SQLite and PostgreSQL: write, read back, validate, retry, auto-close."""
from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from database.outreach import (AUTO_CLOSE_REASON, DISPOSITIONS, NOTE_MAX_CHARS, DatabaseUnavailable, OutreachInputError,
                               OutreachLog, open_log)
from tests.database.conftest import BACKENDS

both_backends = pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
TODAY = dt.datetime.now(dt.timezone.utc).date()


@both_backends
def test_record_and_read_back_newest_first(outreach):
    first = outreach.record_attempt("P1", "left_message", note="voicemail, Spanish", due=TODAY, coordinator="ana",
                                    awaited_stage="diagnosis", decision_date="2026-09-01")
    second = outreach.record_attempt("P1", "reached_rebooked", coordinator="ben")
    outreach.record_attempt("P2", "unreachable")
    found = outreach.attempts_for("P1")
    assert [a.id for a in found] == [second.id, first.id]
    assert found[1].note == "voicemail, Spanish" and found[1].due == TODAY and found[1].coordinator == "ana"
    assert found[0].attempted_at.tzinfo is not None and found[0].attempted_at >= found[1].attempted_at
    assert first.item_id == second.item_id  # the second call without a stage joins the open item
    items = outreach.items_frame()
    assert list(items["patient_id"]) == ["P1", "P2"]
    assert items.loc[0, "awaited_stage"] == "diagnosis" and items.loc[0, "decision_date"] == dt.date(2026, 9, 1)


@both_backends
@pytest.mark.parametrize("field, kwargs, words", [
    ("disposition", {"disposition": "called"}, "must be one of reached_rebooked"),
    ("note", {"note": "x" * (NOTE_MAX_CHARS + 1)}, f"at most {NOTE_MAX_CHARS} characters"),
    ("due", {"due": (TODAY - dt.timedelta(days=1)).isoformat()}, "must not be in the past"),
    ("due", {"due": "next tuesday"}, "YYYY-MM-DD"),
    ("patient_id", {"patient_id": "  "}, "is required"),
])
def test_validation_errors_name_the_field_and_rule_and_store_nothing(outreach, field, kwargs, words):
    values = {"patient_id": "P1", "disposition": "left_message", **kwargs}
    with pytest.raises(OutreachInputError) as raised:
        outreach.record_attempt(**values)
    assert raised.value.field == field and str(raised.value).startswith(f"{field}: ") and words in str(raised.value)
    assert outreach.attempts_frame().empty and outreach.items_frame().empty


@both_backends
def test_every_disposition_is_accepted(outreach):
    for disposition in DISPOSITIONS:
        outreach.record_attempt("P1", disposition)
    assert sorted(outreach.attempts_frame()["disposition"]) == sorted(DISPOSITIONS)


@both_backends
def test_a_retried_request_is_stored_once(outreach):
    first = outreach.record_attempt("P1", "left_message", request_id="req-1")
    again = outreach.record_attempt("P1", "left_message", request_id="req-1")
    assert again.id == first.id and again.replayed and not first.replayed
    assert len(outreach.attempts_frame()) == 1


@both_backends
def test_a_request_key_reused_for_another_call_is_refused_or_kept_apart(outreach):
    """Bug: a key was unique across patients and a replay was matched on the key alone, so a
    client reusing a key (e.g. a form that kept its key after the selection changed) had
    the second patient's call silently taken for a retry of the first and dropped."""
    outreach.record_attempt("P1", "left_message", request_id="form-1")
    other = outreach.record_attempt("P2", "left_message", request_id="form-1")
    assert not other.replayed and other.patient_id == "P2"
    with pytest.raises(OutreachInputError, match="request_id"):
        outreach.record_attempt("P1", "reached_rebooked", request_id="form-1")
    assert sorted(outreach.attempts_frame()["patient_id"]) == ["P1", "P2"]


@both_backends
def test_concurrent_retries_of_one_request_store_it_once(outreach):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: outreach.record_attempt("P1", "unreachable", request_id="same"), range(8)))
    assert len({a.id for a in results}) == 1
    assert len(outreach.attempts_frame()) == 1


@both_backends
def test_concurrent_writers_in_threads_lose_nothing(outreach):
    def write(i):
        return outreach.record_attempt(f"P{i % 5}", "left_message", note=f"call {i}", awaited_stage="treatment",
                                       decision_date="2026-08-01")

    with ThreadPoolExecutor(10) as pool:
        stored = list(pool.map(write, range(40)))
    frame = outreach.attempts_frame()
    assert len(frame) == 40 and sorted(frame["note"]) == sorted(f"call {i}" for i in range(40))
    assert len({a.id for a in stored}) == 40
    open_items = outreach.open_items()
    assert len(open_items) == 5  # one open item per patient, never two from a race


@both_backends
def test_assign_sets_the_owner_shown_with_the_latest_attempt(outreach):
    outreach.record_attempt("P1", "left_message", coordinator="ana", due=TODAY + dt.timedelta(days=2))
    outreach.record_attempt("P1", "unreachable", coordinator="ana")
    outreach.assign("P1", "ben")
    outreach.record_attempt("P2", "reached_declined", coordinator="ben")
    latest = outreach.latest_by_patient().set_index("patient_id")
    assert latest.loc["P1", "attempts"] == 2 and latest.loc["P1", "last_disposition"] == "unreachable"
    assert latest.loc["P1", "owner"] == "ben" and latest.loc["P1", "last_coordinator"] == "ana"
    assert latest.loc["P2", "attempts"] == 1 and pd.isna(latest.loc["P2", "owner"])
    assert list(outreach.latest_by_patient(patient_ids=["P2"])["patient_id"]) == ["P2"]


@both_backends
def test_team_summary_rates_by_coordinator_and_site(outreach):
    for disposition in ("reached_rebooked", "reached_declined", "left_message", "unreachable"):
        outreach.record_attempt("P1", disposition, coordinator="ana")
    outreach.record_attempt("P2", "reached_rebooked", coordinator="ben")
    summary = outreach.team_summary(days=30, sites={"P1": "Harbor", "P2": "Lakeside"}).set_index("coordinator")
    assert summary.loc["ana", "attempts"] == 4 and summary.loc["ana", "reach_rate"] == pytest.approx(0.5)
    assert summary.loc["ana", "rebooked_share"] == pytest.approx(0.25) and summary.loc["ana", "site"] == "Harbor"
    assert summary.loc["ben", "reach_rate"] == 1.0 and summary.loc["ben", "site"] == "Lakeside"
    assert outreach.team_summary(days=30, today=TODAY + dt.timedelta(days=60)).empty


@both_backends
def test_auto_close_closes_items_whose_patient_no_longer_waits(outreach):
    outreach.record_attempt("P1", "left_message", awaited_stage="diagnosis", decision_date="2026-09-01")
    outreach.record_attempt("P2", "left_message", awaited_stage="treatment", decision_date="2026-08-01")
    outreach.record_attempt("P3", "left_message", awaited_stage="treatment", decision_date="2026-08-01")
    outreach.assign("P4", "ana")  # an item without a stage: closed only when the patient waits for nothing
    waiting = pd.DataFrame({"patient_id": ["P1", "P3", "P4"],
                            "awaiting_stage": ["diagnosis", "follow_up", "treatment"],  # P3 moved on a stage
                            "decision_date": pd.to_datetime(["2026-09-01", "2026-10-01", "2026-07-01"])})
    assert outreach.close_resolved(waiting) == 2
    items = outreach.items_frame().set_index("patient_id")
    assert items.loc["P1", "status"] == "open" and items.loc["P4", "status"] == "open"
    assert set(items.index[items["status"] == "closed"]) == {"P2", "P3"}
    assert (items.loc[["P2", "P3"], "closed_reason"] == AUTO_CLOSE_REASON).all()
    assert items.loc[["P2", "P3"], "closed_at"].notna().all()
    assert outreach.close_resolved(waiting) == 0  # nothing left to close
    # A new call for P2 opens a fresh item; the closed one stays as history.
    again = outreach.record_attempt("P2", "reached_rebooked", awaited_stage="treatment", decision_date="2026-08-01")
    assert again.item_id not in set(outreach.items_frame().query("status == 'closed'")["id"])


@both_backends
def test_attempts_frame_since(outreach):
    outreach.record_attempt("P1", "left_message")
    assert len(outreach.attempts_frame(since=TODAY)) == 1
    assert outreach.attempts_frame(since=TODAY + dt.timedelta(days=1)).empty


def test_an_unreachable_database_raises_a_message_for_people():
    from scripts.local_server import free_port

    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/carepath"  # a closed port
    with pytest.raises(DatabaseUnavailable, match="outreach log database .* cannot be reached"):
        open_log(url=url)
    log = OutreachLog.__new__(OutreachLog)
    from database.engine import make_engine

    log.engine = make_engine(url)
    assert log.is_available() is False
    with pytest.raises(DatabaseUnavailable):
        log.record_attempt("P1", "left_message")
    with pytest.raises(DatabaseUnavailable):
        log.attempts_for("P1")
