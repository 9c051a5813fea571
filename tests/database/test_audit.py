"""The audit trail (database/audit.py): append-only, hash-chained; editing or deleting a
row is found, naming the first broken row; concurrent appends never fork the chain."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from database.audit import AuditTrail
from database.engine import make_engine
from database.migrate import upgrade_to_head
from tests.database.conftest import BACKENDS


@pytest.fixture
def trail(empty_database_url):
    engine = make_engine(empty_database_url)
    upgrade_to_head(engine)
    yield AuditTrail(engine)
    engine.dispose()


def _three(trail):
    trail.record("alice", "coordinator", "patient_view", "/patient", ["P0000001"])
    trail.record("alice", "coordinator", "worklist_view", "/worklist", ["P0000002", "P0000003"])
    trail.record("bob", "admin", "export", "/worklist", ["P0000004"])


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_an_intact_chain_verifies_and_rows_filter(trail):
    _three(trail)
    check = trail.verify()
    assert check.ok and check.rows == 3
    assert [r.id for r in trail.rows(username="alice")] == [2, 1]
    assert [r.action for r in trail.rows(action="export")] == ["export"]
    assert trail.rows(action="worklist_view")[0].as_json()["patient_ids"] == ["P0000002", "P0000003"]


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
@pytest.mark.parametrize("tamper, broken", [
    ("UPDATE audit_events SET patient_ids = '[\"P0000009\"]' WHERE id = 2", 2),
    ("UPDATE audit_events SET username = 'mallory' WHERE id = 1", 1),
    ("DELETE FROM audit_events WHERE id = 2", 2),
])
def test_an_edited_or_deleted_row_breaks_the_chain_at_that_row(trail, tamper, broken):
    _three(trail)
    with trail.engine.begin() as connection:
        connection.execute(text(tamper))
    check = trail.verify()
    assert not check.ok and check.first_broken_id == broken


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_a_row_rewritten_with_a_fresh_hash_still_breaks_the_next_row(trail):
    from database.audit import chain_hash

    _three(trail)
    row = dict(trail.rows(username="alice", action="patient_view")[0].__dict__)
    row["patient_ids"] = '["P0000042"]'
    with trail.engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET patient_ids = :ids, row_hash = :h WHERE id = 1"),
                           {"ids": row["patient_ids"], "h": chain_hash(row["prev_hash"], row)})
    check = trail.verify()
    assert not check.ok and check.first_broken_id == 2


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_concurrent_appends_keep_one_chain(trail):
    def append(i):
        for _ in range(5):
            trail.record(f"user{i}", "coordinator", "patient_view", "/patient", [f"P{i:07d}"])

    threads = [threading.Thread(target=append, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check = trail.verify()
    assert check.ok and check.rows == 40


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_audit_command_line_verify_names_the_first_broken_row(trail, empty_database_url, capsys):
    from app.audit import main

    _three(trail)
    assert main(["--url", empty_database_url, "verify"]) == 0
    assert "intact: 3 events" in capsys.readouterr().out
    assert main(["--url", empty_database_url, "report", "--user", "alice"]) == 0
    assert "2 events" in capsys.readouterr().out
    with trail.engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET action = 'export' WHERE id = 2"))
    assert main(["--url", empty_database_url, "verify"]) == 1
    assert "BROKEN at event 2" in capsys.readouterr().out
