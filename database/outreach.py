"""The outreach log repository: record calls, read them back, auto-close resolved items.

Used by the app's callbacks and by the JSON API (app/api.py) alike. Every write is one
transaction; validation errors are ``OutreachInputError`` naming the field and the rule;
a database that cannot be reached raises ``DatabaseUnavailable`` with a message for people.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import asdict, dataclass
from typing import Callable, Mapping

import pandas as pd
from sqlalchemy import Engine, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from database.engine import make_engine, redacted, write_transaction
from database.tables import CLOSED, OPEN, OutreachAttempt, OutreachItem

from data.schema import DISPOSITIONS

REACHED = tuple(d for d in DISPOSITIONS if d.startswith("reached_"))
REBOOKED = "reached_rebooked"
NOTE_MAX_CHARS = 2000
AUTO_CLOSE_REASON = "stage happened or window closed in new data"
ATTEMPT_FIELDS = ("id", "item_id", "patient_id", "disposition", "note", "due", "coordinator", "attempted_at",
                  "client_request_id")


class OutreachInputError(ValueError):
    """What a person typed breaks a rule; the message names the field and the rule."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


class DatabaseUnavailable(RuntimeError):
    """The outreach database cannot be reached; the message says so for a person."""


@dataclass(frozen=True)
class Attempt:
    id: int
    item_id: int
    patient_id: str
    disposition: str
    note: str | None
    due: dt.date | None
    coordinator: str | None
    attempted_at: dt.datetime  # UTC
    client_request_id: str | None = None
    replayed: bool = False  # True when a retried request (same request id) returned the stored attempt

    def as_json(self) -> dict:
        out = asdict(self)
        out["due"] = None if self.due is None else self.due.isoformat()
        out["attempted_at"] = self.attempted_at.isoformat()
        out.pop("replayed")
        return out


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _attempt(row, replayed: bool = False) -> Attempt:
    values = dict(row._mapping)
    values["attempted_at"] = _utc(values["attempted_at"])
    return Attempt(**{k: values[k] for k in ATTEMPT_FIELDS}, replayed=replayed)


def _as_date(value, field: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise OutreachInputError(field, f"must be a date as YYYY-MM-DD, got {str(value)[:40]!r}") from None


def _text(value, field: str, max_chars: int, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise OutreachInputError(field, "is required")
        return None
    if not isinstance(value, str):
        raise OutreachInputError(field, f"must be text, got {type(value).__name__}")
    if len(value) > max_chars:
        raise OutreachInputError(field, f"must be at most {max_chars} characters, got {len(value)}")
    return value


def validate_attempt(patient_id, disposition, note=None, due=None, coordinator=None, request_id=None,
                     today: dt.date | None = None) -> dict:
    """The cleaned values, or OutreachInputError naming the first field that breaks a rule."""
    patient_id = _text(patient_id if not isinstance(patient_id, int) else str(patient_id), "patient_id", 64,
                       required=True).strip()
    if disposition not in DISPOSITIONS:
        raise OutreachInputError("disposition", f"must be one of {', '.join(DISPOSITIONS)}, got {str(disposition)[:40]!r}")
    due = _as_date(due, "due")
    today = today or _now().date()
    if due is not None and due < today:
        raise OutreachInputError("due", f"must not be in the past (today is {today.isoformat()}), got {due.isoformat()}")
    return {"patient_id": patient_id, "disposition": disposition, "note": _text(note, "note", NOTE_MAX_CHARS),
            "due": due, "coordinator": _text(coordinator, "coordinator", 128),
            "client_request_id": _text(request_id, "request_id", 128)}


def _unavailable(engine: Engine, error: Exception) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"The outreach log database ({redacted(str(engine.url))}) cannot be reached: "
                               f"{str(error).splitlines()[0][:200]}")


class OutreachLog:
    """The repository over one engine (SQLite file or PostgreSQL)."""

    def __init__(self, engine: Engine | None = None):
        self.engine = engine or make_engine()

    # -- health ---------------------------------------------------------------------------
    def is_available(self) -> bool:
        try:
            self.check()
            return True
        except DatabaseUnavailable:
            return False

    def check(self) -> None:
        """Raise DatabaseUnavailable (with the reason) unless the database answers."""
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except (OperationalError, InterfaceError) as error:
            raise _unavailable(self.engine, error) from error

    # -- writes ---------------------------------------------------------------------------
    def _open_item(self, connection, patient_id: str, awaited_stage: str | None, decision_date: dt.date | None,
                   owner: str | None = None) -> int:
        """The id of the patient's open item for this stage and decision, created if absent."""
        items = OutreachItem.__table__
        condition = and_(items.c.patient_id == patient_id, items.c.status == OPEN)
        if awaited_stage is not None or decision_date is not None:
            condition = and_(condition, items.c.awaited_stage.is_(None) if awaited_stage is None
                             else items.c.awaited_stage == awaited_stage,
                             items.c.decision_date.is_(None) if decision_date is None
                             else items.c.decision_date == decision_date)
        found = connection.execute(select(items.c.id).where(condition).order_by(items.c.id.desc()).limit(1)).first()
        if found is not None:
            return found.id
        return connection.execute(insert(items).values(
            patient_id=patient_id, awaited_stage=awaited_stage, decision_date=decision_date, owner=owner,
            status=OPEN, created_at=_now()).returning(items.c.id)).scalar_one()

    def _by_request_id(self, values: dict) -> Attempt | None:
        """The attempt stored before under this patient's request key, or None; a key reused
        for a different call (another outcome, note, due date or coordinator) is refused
        rather than taken for a retry, so no call is silently dropped."""
        attempts = OutreachAttempt.__table__
        with self.engine.connect() as connection:
            row = connection.execute(select(attempts).where(
                attempts.c.patient_id == values["patient_id"],
                attempts.c.client_request_id == values["client_request_id"])).first()
        if row is None:
            return None
        stored = row._mapping
        if any(stored[field] != values[field] for field in ("disposition", "note", "due", "coordinator")):
            raise OutreachInputError("request_id", f"{values['client_request_id'][:40]!r} was already used for "
                                     "another call of this patient; send a new key for a new call")
        return _attempt(row, replayed=True)

    def record_attempt(self, patient_id, disposition, note=None, due=None, coordinator=None, awaited_stage=None,
                       decision_date=None, request_id=None, today: dt.date | None = None) -> Attempt:
        """Store one call and its outcome in one transaction (opening the item if needed).
        A repeated ``request_id`` returns the attempt stored the first time (``replayed``)."""
        values = validate_attempt(patient_id, disposition, note, due, coordinator, request_id, today)
        awaited_stage = _text(awaited_stage, "awaited_stage", 64)
        decision_date = _as_date(decision_date, "decision_date")
        request_id = values["client_request_id"]
        attempts = OutreachAttempt.__table__
        try:
            if request_id is not None and (stored := self._by_request_id(values)) is not None:
                return stored
            for retry in range(3):
                try:
                    with write_transaction(self.engine, lock_key=values["patient_id"]) as connection:
                        item_id = self._open_item(connection, values["patient_id"], awaited_stage, decision_date)
                        row = connection.execute(insert(attempts).values(item_id=item_id, attempted_at=_now(),
                                                                         **values).returning(*attempts.c)).one()
                    return _attempt(row)
                except IntegrityError:
                    # The same request id committed by another worker between our check and insert,
                    # or (on a database without our per-patient lock) the same item opened twice:
                    # the transaction rolled back whole; look again.
                    if request_id is not None and (stored := self._by_request_id(values)) is not None:
                        return stored
                    if retry == 2:
                        raise
            raise AssertionError("unreachable")
        except (OperationalError, InterfaceError) as error:
            raise _unavailable(self.engine, error) from error

    def assign(self, patient_id, coordinator, awaited_stage=None, decision_date=None) -> int:
        """Make ``coordinator`` (None: nobody) the owner of the patient's open item; returns its id."""
        patient_id = _text(patient_id, "patient_id", 64, required=True).strip()
        coordinator = _text(coordinator, "coordinator", 128)
        items = OutreachItem.__table__
        try:
            with write_transaction(self.engine, lock_key=patient_id) as connection:
                item_id = self._open_item(connection, patient_id, _text(awaited_stage, "awaited_stage", 64),
                                          _as_date(decision_date, "decision_date"), owner=coordinator)
                connection.execute(update(items).where(items.c.id == item_id).values(owner=coordinator))
            return item_id
        except (OperationalError, InterfaceError) as error:
            raise _unavailable(self.engine, error) from error

    def close_resolved(self, waiting: pd.DataFrame) -> int:
        """Auto-close: close every open item whose patient no longer waits for that stage
        after that decision in the current data (``waiting``: patient_id, awaited_stage or
        awaiting_stage, decision_date). Returns how many items were closed."""
        stage_column = "awaited_stage" if "awaited_stage" in waiting.columns else "awaiting_stage"
        still = set(zip(waiting["patient_id"].astype(str), waiting[stage_column].astype(str),
                        pd.to_datetime(waiting["decision_date"]).dt.date))
        waiting_patients = set(waiting["patient_id"].astype(str))
        items = OutreachItem.__table__
        try:
            with write_transaction(self.engine) as connection:
                open_items = connection.execute(select(items.c.id, items.c.patient_id, items.c.awaited_stage,
                                                       items.c.decision_date).where(items.c.status == OPEN)).all()
                resolved = [row.id for row in open_items
                            if (row.patient_id not in waiting_patients if row.awaited_stage is None
                                else (row.patient_id, row.awaited_stage, row.decision_date) not in still)]
                now = _now()
                for start in range(0, len(resolved), 500):  # bounded IN lists
                    connection.execute(update(items).where(items.c.id.in_(resolved[start:start + 500]),
                                                           items.c.status == OPEN)
                                       .values(status=CLOSED, closed_reason=AUTO_CLOSE_REASON, closed_at=now))
            return len(resolved)
        except (OperationalError, InterfaceError) as error:
            raise _unavailable(self.engine, error) from error

    # -- reads ----------------------------------------------------------------------------
    def _frame(self, statement) -> pd.DataFrame:
        try:
            with self.engine.connect() as connection:
                result = connection.execute(statement)
                frame = pd.DataFrame(result.all(), columns=list(result.keys()))
        except (OperationalError, InterfaceError) as error:
            raise _unavailable(self.engine, error) from error
        if "attempted_at" in frame.columns:
            frame["attempted_at"] = pd.to_datetime(frame["attempted_at"], utc=True)
        if "due" in frame.columns:
            frame["due"] = pd.to_datetime(frame["due"])
        return frame

    def attempts_for(self, patient_id: str) -> list[Attempt]:
        """The patient's attempts, newest first."""
        attempts = OutreachAttempt.__table__
        statement = (select(attempts).where(attempts.c.patient_id == str(patient_id))
                     .order_by(attempts.c.attempted_at.desc(), attempts.c.id.desc()))
        try:
            with self.engine.connect() as connection:
                return [_attempt(row) for row in connection.execute(statement)]
        except (OperationalError, InterfaceError) as error:
            raise _unavailable(self.engine, error) from error

    def attempts_frame(self, since: dt.datetime | dt.date | None = None) -> pd.DataFrame:
        """Every attempt (with its item's stage, decision date and owner), oldest first:
        for the team summary and for learning the gain from a call."""
        attempts, items = OutreachAttempt.__table__, OutreachItem.__table__
        statement = (select(*attempts.c, items.c.awaited_stage, items.c.decision_date, items.c.owner,
                            items.c.status.label("item_status"))
                     .join(items, items.c.id == attempts.c.item_id)
                     .order_by(attempts.c.attempted_at, attempts.c.id))
        if since is not None:
            if not isinstance(since, dt.datetime):
                since = dt.datetime.combine(since, dt.time(), tzinfo=dt.timezone.utc)
            statement = statement.where(attempts.c.attempted_at >= _utc(since))
        return self._frame(statement)

    def as_outreach_table(self, as_of, patient_ids) -> pd.DataFrame:
        """The team's calls as rows of the dataset contract's outreach table (source
        "worklist"), so the next training run learns from them as from any logged outreach.

        Only calls made on or before ``as_of`` count: a call's outcome shows only in data
        taken after it. Calls without an awaited stage (not made from the Worklist) and
        calls for patients outside ``patient_ids`` are left out."""
        frame = self.attempts_frame()
        columns = ["patient_id", "date", "awaited_stage", "disposition", "source", "coordinator", "note"]
        if frame.empty:
            return pd.DataFrame(columns=columns)
        frame["date"] = pd.to_datetime(frame["attempted_at"], utc=True).dt.tz_localize(None).dt.normalize()
        keep = (frame["date"] <= pd.Timestamp(as_of).normalize()) & frame["awaited_stage"].notna() & \
            frame["patient_id"].astype(str).isin(set(map(str, patient_ids)))
        frame = frame.loc[keep].assign(source="worklist")
        return frame[columns].astype({"date": "datetime64[ns]"}).reset_index(drop=True)

    def latest_by_patient(self, patient_ids: list[str] | None = None) -> pd.DataFrame:
        """One row per patient with attempts: last attempt time, disposition, due, coordinator,
        the owner of the patient's newest item and the number of attempts (``patient_ids``:
        only these patients)."""
        attempts, items = OutreachAttempt.__table__, OutreachItem.__table__
        # The newest attempt is the one with the highest id: writes of one patient are serialised.
        counts = (select(attempts.c.patient_id, func.count().label("attempts"),
                         func.max(attempts.c.id).label("last_id"))
                  .group_by(attempts.c.patient_id))
        if patient_ids is not None:
            counts = counts.where(attempts.c.patient_id.in_([str(p) for p in patient_ids][:5000]))
        counts = counts.subquery()
        statement = (select(counts.c.patient_id, attempts.c.attempted_at.label("last_attempt_at"),
                            attempts.c.disposition.label("last_disposition"), attempts.c.due,
                            attempts.c.coordinator.label("last_coordinator"), items.c.owner,
                            items.c.status.label("item_status"), counts.c.attempts)
                     .join(attempts, attempts.c.id == counts.c.last_id)
                     .join(items, items.c.id == attempts.c.item_id)
                     .order_by(counts.c.patient_id))
        frame = self._frame(statement)
        if "last_attempt_at" in frame.columns:
            frame["last_attempt_at"] = pd.to_datetime(frame["last_attempt_at"], utc=True)
        return frame

    def team_summary(self, days: int = 30, sites: Mapping[str, str] | pd.Series | None = None,
                     today: dt.date | None = None) -> pd.DataFrame:
        """Per day and coordinator (and site, given a patient_id -> site mapping): attempts,
        reach rate (share reached_*) and rebooked share, over the last ``days`` days."""
        today = today or _now().date()
        since = today - dt.timedelta(days=days - 1)
        frame = self.attempts_frame(since=since)
        keys = ["day", "coordinator"] + (["site"] if sites is not None else [])
        columns = [*keys, "attempts", "reached", "rebooked", "reach_rate", "rebooked_share"]
        if frame.empty:
            return pd.DataFrame(columns=columns)
        frame["day"] = frame["attempted_at"].dt.date
        frame["coordinator"] = frame["coordinator"].fillna("(unnamed)")
        if sites is not None:
            frame["site"] = frame["patient_id"].map(pd.Series(sites) if not isinstance(sites, pd.Series) else sites)
            frame["site"] = frame["site"].fillna("(unknown)")
        frame["reached"] = frame["disposition"].isin(REACHED)
        frame["rebooked"] = frame["disposition"] == REBOOKED
        summary = (frame.groupby(keys, sort=True)
                   .agg(attempts=("id", "size"), reached=("reached", "sum"), rebooked=("rebooked", "sum"))
                   .reset_index())
        summary["reach_rate"] = summary["reached"] / summary["attempts"]
        summary["rebooked_share"] = summary["rebooked"] / summary["attempts"]
        return summary[columns]

    def open_items(self) -> pd.DataFrame:
        items = OutreachItem.__table__
        return self._frame(select(items).where(items.c.status == OPEN).order_by(items.c.id))

    def items_frame(self) -> pd.DataFrame:
        return self._frame(select(OutreachItem.__table__).order_by(OutreachItem.__table__.c.id))


def open_log(settings=None, url: str | None = None, migrate: bool = True) -> OutreachLog:
    """The outreach log for the settings' database, migrated to the newest schema.
    Raises DatabaseUnavailable when it cannot be reached."""
    from database.migrate import upgrade_to_head

    log = OutreachLog(make_engine(url, settings))
    log.check()
    if migrate:
        try:
            upgrade_to_head(log.engine)
        except (OperationalError, InterfaceError) as error:
            raise _unavailable(log.engine, error) from error
    return log


def with_team_calls(dataset, settings, log: Callable[[str], None] = print, opened: OutreachLog | None = None):
    """The dataset with the calls the team logged in the outreach database added to its
    outreach table (source "worklist"), so the benefit model learns from the team's own log
    at the next training run. The user's data folder is never written: this is in memory.
    Without a reachable database, or without calls made by the data's as-of date, the
    dataset is returned as it is.  ``opened``: a log the caller opened already (kept open),
    else this opens and closes its own."""
    outreach = opened
    if outreach is None:
        try:
            outreach = open_log(settings)
        except Exception:  # unreachable or unusable: open_outreach logs why, once
            return dataset
    try:
        calls = outreach.as_outreach_table(dataset.as_of, dataset.patients["patient_id"])
    except DatabaseUnavailable:
        return dataset
    finally:
        if opened is None:
            outreach.engine.dispose()
    if calls.empty:
        return dataset
    log(f"outreach log: {len(calls):,} calls logged by the team up to the as-of date join the training data")
    logged = calls if dataset.outreach is None else pd.concat([dataset.outreach, calls], ignore_index=True)
    return dataclasses.replace(dataset, outreach=logged)



def waiting_frame(scores: pd.DataFrame | None) -> pd.DataFrame:
    """The in-progress patients (patient_id, awaited_stage, decision_date) from model scores."""
    if scores is None:
        return pd.DataFrame(columns=["patient_id", "awaited_stage", "decision_date"])
    return scores[["patient_id", "awaiting_stage", "decision_date"]].rename(columns={"awaiting_stage": "awaited_stage"})

