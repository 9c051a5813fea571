"""The audit trail of access to patient-level data: append-only, hash-chained.

Each row stores ``row_hash = sha256(prev_hash + canonical JSON of the row)``; ids run
1, 2, 3, ... so an edited row, a deleted row or a re-ordered one breaks the chain at the
first row affected. Appends are serialised (BEGIN IMMEDIATE on SQLite, an advisory lock on
PostgreSQL) so several workers never fork the chain. Removing rows from the END cannot be
seen from inside the table: ``head()`` gives the newest id and hash to keep elsewhere.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass

from sqlalchemy import Engine, insert, select

from database.access_tables import AuditEvent
from database.engine import write_transaction

GENESIS = "0" * 64
ACTIONS = ("patient_view", "worklist_view", "export", "outreach_write", "api_read", "api_write",
           "quality_gap_view")
AUDIT_LOCK_KEY = "carepath-audit-chain"


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: str
    username: str
    role: str
    action: str
    page: str
    patient_count: int
    patient_ids: str
    prev_hash: str
    row_hash: str

    def as_json(self) -> dict:
        out = asdict(self)
        out["patient_ids"] = json.loads(self.patient_ids)
        return out


def canonical(row: dict) -> bytes:
    fields = ("id", "at", "username", "role", "action", "page", "patient_count", "patient_ids")
    return json.dumps({k: row[k] for k in fields}, sort_keys=True, separators=(",", ":")).encode()


def chain_hash(prev_hash: str, row: dict) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(row)).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    rows: int
    first_broken_id: int | None = None
    reason: str = ""


class AuditTrail:
    def __init__(self, engine: Engine):
        self.engine = engine

    def record(self, username: str, role: str, action: str, page: str, patient_ids=(), count: int | None = None,
               at: dt.datetime | None = None) -> AuditRow:
        """Append one event. ``patient_ids`` are stored; ``count`` alone when ids are not known."""
        if action not in ACTIONS:
            raise ValueError(f"action: must be one of {', '.join(ACTIONS)}, got {action!r}")
        ids = [str(p) for p in patient_ids]
        table = AuditEvent.__table__
        with write_transaction(self.engine, lock_key=AUDIT_LOCK_KEY) as connection:
            last = connection.execute(select(table.c.id, table.c.row_hash).order_by(table.c.id.desc()).limit(1)).first()
            row = {"id": 1 if last is None else last.id + 1,
                   "at": (at or dt.datetime.now(dt.UTC)).isoformat(timespec="microseconds"),
                   "username": username, "role": role, "action": action, "page": page[:128],
                   "patient_count": len(ids) if count is None else int(count),
                   "patient_ids": json.dumps(ids, separators=(",", ":"))}
            prev_hash = GENESIS if last is None else last.row_hash
            row.update(prev_hash=prev_hash, row_hash=chain_hash(prev_hash, row))
            connection.execute(insert(table).values(**row))
        return AuditRow(**row)

    def rows(self, username: str | None = None, action: str | None = None, since: dt.date | None = None,
             until: dt.date | None = None, limit: int | None = None) -> list[AuditRow]:
        table = AuditEvent.__table__
        query = select(table).order_by(table.c.id.desc())
        if username:
            query = query.where(table.c.username == username)
        if action:
            query = query.where(table.c.action == action)
        if since:
            query = query.where(table.c.at >= since.isoformat())
        if until:
            query = query.where(table.c.at < (until + dt.timedelta(days=1)).isoformat())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            return [AuditRow(**row._mapping) for row in connection.execute(query)]

    def head(self) -> tuple[int, str]:
        table = AuditEvent.__table__
        with self.engine.connect() as connection:
            last = connection.execute(select(table.c.id, table.c.row_hash).order_by(table.c.id.desc()).limit(1)).first()
        return (0, GENESIS) if last is None else (last.id, last.row_hash)

    def verify(self) -> Verification:
        """Walk the chain from the first row; stop at the first row that does not fit."""
        table = AuditEvent.__table__
        prev_hash, expected_id, count = GENESIS, 1, 0
        with self.engine.connect() as connection:
            for row in connection.execute(select(table).order_by(table.c.id)):
                values = dict(row._mapping)
                if values["id"] != expected_id:
                    return Verification(False, count, expected_id,
                                        f"row {expected_id} is missing (next row is {values['id']})")
                if values["prev_hash"] != prev_hash:
                    return Verification(False, count, values["id"],
                                        f"row {values['id']} does not follow row {expected_id - 1}")
                if chain_hash(prev_hash, values) != values["row_hash"]:
                    return Verification(False, count, values["id"], f"row {values['id']} was altered")
                prev_hash, expected_id, count = values["row_hash"], expected_id + 1, count + 1
        return Verification(True, count)
