"""The Worklist's outreach workspace, called directly: recording a call for the selected
patient, the last call beside each patient, patients called today leaving the default
view, the team summary, the Patient page's call history, and what happens without the log."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from callbacks import context
from callbacks.outreach import (act, assign_to, attempted_today, call_history_lines, save_call, selection_text,
                                team_rows)
from callbacks.worklist import ALL, worklist_view
from components import ids
from tests.app.component_text import component_text


@pytest.fixture
def with_log(app_data, tmp_path):
    """The session app's state with an empty outreach log on its own SQLite file."""
    from database.outreach import open_log

    log = open_log(url=f"sqlite:///{tmp_path / 'outreach.db'}")
    previous = context._current
    context._current = dataclasses.replace(previous, outreach=log, outreach_unavailable=None)
    try:
        yield log
    finally:
        context._current = previous
        log.engine.dispose()


@pytest.fixture
def without_log(app_data):
    previous = context._current
    context._current = dataclasses.replace(previous, outreach=None,
                                           outreach_unavailable="the database at db.example:5432 refused the connection.")
    try:
        yield
    finally:
        context._current = previous


def _pick(view, position=0):
    """The grid's selectedRows for the row at ``position``, as the browser sends it."""
    return [view.rows[position]]


def test_a_saved_call_is_stored_with_the_patients_awaited_stage_and_shown_in_the_list(with_log):
    view = worklist_view("", ALL, "risk", show_called_today=True)
    selected = _pick(view, 2)
    feedback, changed = save_call(selected, "Ana", "left_message", "no answer, voicemail", None)
    assert changed and "Saved" in component_text(feedback)
    stored = with_log.attempts_for(selected[0]["patient_id"])
    assert [a.disposition for a in stored] == ["left_message"] and stored[0].coordinator == "Ana"
    items = with_log.items_frame()
    scores = context.current().risk_scores.set_index("patient_id")
    assert items.loc[0, "awaited_stage"] == scores.loc[selected[0]["patient_id"], "awaiting_stage"]
    again = worklist_view("", ALL, "risk", show_called_today=True)
    row = next(r for r in again.rows if r["patient_id"] == selected[0]["patient_id"])
    assert row["last_call"].endswith("Left a message")


def test_patients_called_today_leave_the_default_view_and_come_back_with_the_switch(with_log):
    everyone = worklist_view("", ALL, "risk")
    called = everyone.rows[0]["patient_id"]
    save_call(_pick(everyone), "Ana", "reached_rebooked", None, None)
    default = worklist_view("", ALL, "risk")
    assert called not in [r["patient_id"] for r in default.rows]
    assert len(default.rows) == len(everyone.rows) - 1
    assert "1 patients called today are not listed" in component_text(default.summary)
    shown = worklist_view("", ALL, "risk", show_called_today=True)
    assert called in [r["patient_id"] for r in shown.rows]
    assert attempted_today(with_log.latest_by_patient(), dt.date(2000, 1, 1)) == set()  # not today: listed


def test_a_forged_selection_is_refused_not_logged(with_log):
    for forged in ([{"patient_id": "NOT-A-PATIENT"}], [{"patient_id": 12}], "P1", [["x"]], None):
        feedback, changed = save_call(forged, "Ana", "unreachable", None, None)
        assert not changed and "Select a patient" in component_text(feedback)
    assert with_log.attempts_frame().empty


def test_bad_input_is_a_message_naming_the_field(with_log):
    selected = _pick(worklist_view("", 5, "risk"))
    feedback, changed = save_call(selected, "Ana", None, None, None)
    assert not changed and "Choose the outcome" in component_text(feedback)
    feedback, changed = save_call(selected, "Ana", "left_message", None, "2000-01-01")
    assert not changed and "due" in component_text(feedback)
    feedback, changed = assign_to(selected, "")
    assert not changed and "Enter your name" in component_text(feedback)
    assert with_log.attempts_frame().empty


def test_take_on_sets_the_owner_shown_in_the_list(with_log):
    selected = _pick(worklist_view("", 5, "risk"))
    feedback, changed = assign_to(selected, "Ben")
    assert changed and "Ben" in component_text(feedback)
    save_call(selected, "Ben", "left_message", None, (dt.date.today() + dt.timedelta(days=2)).isoformat())
    row = next(r for r in worklist_view("", ALL, "risk", True).rows if r["patient_id"] == selected[0]["patient_id"])
    assert row["owner"] == "Ben" and row["next_due"] == (dt.date.today() + dt.timedelta(days=2)).isoformat()


def test_the_buttons_refresh_the_list_only_after_a_write(with_log, monkeypatch):
    import callbacks.outreach as outreach

    selected = _pick(worklist_view("", 5, "risk"))
    monkeypatch.setattr(outreach, "ctx", type("Ctx", (), {"triggered_id": ids.OUTREACH_SAVE})())
    _, refreshes = act(1, None, selected, "Ana", "unreachable", None, None, 4)
    assert refreshes == 5
    _, refreshes = act(2, None, selected, "Ana", None, None, None, 5)  # no outcome chosen: nothing written
    assert refreshes is outreach.no_update


def test_a_double_clicked_save_stores_the_call_once(with_log, monkeypatch):
    """Bug: each click of Save made a new request key on the server, so a double click
    stored the call twice.  Both clicks now send the form's key (one per patient and fields)."""
    import callbacks.outreach as outreach
    from dash import Dash

    app = Dash(__name__)
    outreach.register_callbacks(app)
    save = next(c for key, c in app.callback_map.items() if ids.OUTREACH_FEEDBACK in key)
    assert {"id": ids.OUTREACH_REQUEST_KEY, "property": "data"} in save["state"]  # the key travels with each click

    selected = _pick(worklist_view("", 5, "risk"))
    monkeypatch.setattr(outreach, "ctx", type("Ctx", (), {"triggered_id": ids.OUTREACH_SAVE})())
    key = outreach.new_request_key(selected, "Ana", "left_message", "voicemail", None)
    _, refreshes = act(1, None, selected, "Ana", "left_message", "voicemail", None, 0, key)
    again, refreshes_again = act(2, None, selected, "Ana", "left_message", "voicemail", None, 0, key)
    assert len(with_log.attempts_frame()) == 1
    assert refreshes == 1 and refreshes_again is outreach.no_update
    assert "Already saved" in component_text(again)
    # A changed form is a new call with a new key: stored.
    act(3, None, selected, "Ana", "reached_rebooked", None, None, 1,
        outreach.new_request_key(selected, "Ana", "reached_rebooked", None, None))
    assert len(with_log.attempts_frame()) == 2


def test_team_summary_counts_calls_reach_and_rebooking_per_coordinator_and_site(with_log):
    view = worklist_view("", ALL, "risk", True)
    for row, who, outcome in zip(view.rows[:4], ("Ana", "Ana", "Ben", "Ana"),
                                 ("reached_rebooked", "unreachable", "reached_declined", "left_message")):
        save_call([row], who, outcome, None, None)
    rows = {r["group"]: r for r in team_rows()}
    assert rows["Coordinator: Ana"]["attempts"] == 3
    assert rows["Coordinator: Ana"]["reach_rate"] == pytest.approx(1 / 3)
    assert rows["Coordinator: Ana"]["rebooked_share"] == pytest.approx(1 / 3)
    assert rows["Coordinator: Ben"]["reach_rate"] == 1.0 and rows["Coordinator: Ben"]["rebooked_share"] == 0.0
    assert sum(r["attempts"] for g, r in rows.items() if g.startswith("Site: ")) == 4


def test_the_patient_page_lists_the_calls_newest_first(with_log):
    selected = _pick(worklist_view("", 5, "risk"))
    save_call(selected, "Ana", "unreachable", None, None)
    save_call(selected, "Ana", "reached_rebooked", "rebooked for next Tuesday", None)
    lines = call_history_lines(selected[0]["patient_id"])
    assert "Reached – rebooked" in lines[0] and "rebooked for next Tuesday" in lines[0]
    assert "Unreachable" in lines[1]
    assert call_history_lines("P-nobody-called") == ["No call recorded yet."]


def test_without_the_log_the_list_still_ranks_and_says_calls_cannot_be_recorded(without_log):
    view = worklist_view("", 10, "risk")
    assert len(view.rows) == 10 and all(r["last_call"] == "—" for r in view.rows)
    assert "cannot be recorded" in component_text(view.message) and "refused the connection" in component_text(view.message)
    text, disabled = selection_text(_pick(view))
    assert disabled and "refused the connection" in text
    feedback, changed = save_call(_pick(view), "Ana", "unreachable", None, None)
    assert not changed and "cannot be recorded" in component_text(feedback)
    assert team_rows() == [] and "not available" in call_history_lines(view.rows[0]["patient_id"])[0]


def test_start_up_opens_the_outreach_database_once(small_dataset, monkeypatch):
    """Bug: start-up opened (and migrated) the outreach database twice: once to add the
    team's calls to the training data, once more for the Worklist."""
    import database.outreach
    from flask import Flask

    from tests.broken_datasets import first_patients
    from tests.conftest import fast_training_config

    opened = []
    real_open_log = database.outreach.open_log

    def counting_open_log(*args, **kwargs):
        opened.append(args)
        return real_open_log(*args, **kwargs)

    monkeypatch.setattr(database.outreach, "open_log", counting_open_log)
    previous = context._current
    server = Flask(__name__)
    context.init_cache(server)
    try:
        state = context.load(server, dataset=first_patients(small_dataset, 20), log=lambda message: None,
                             training_config=fast_training_config())
    finally:
        context._current = previous
    assert state.outreach is not None and state.outreach_unavailable is None
    assert len(opened) == 1
