"""The outreach tables (SQLAlchemy 2 declarative models). Change them only with a migration."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

OPEN, CLOSED = "open", "closed"


class Base(DeclarativeBase):
    pass


class OutreachItem(Base):
    """A patient awaiting a stage after a decision date: what a coordinator works on."""

    __tablename__ = "outreach_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64), index=True)
    awaited_stage: Mapped[str | None] = mapped_column(String(64))
    decision_date: Mapped[dt.date | None] = mapped_column(Date)
    owner: Mapped[str | None] = mapped_column(String(128))  # the coordinator who owns the follow-up
    status: Mapped[str] = mapped_column(String(16), default=OPEN, server_default=OPEN)
    closed_reason: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # One open item per patient, stage and decision; closed ones are history.
        Index("uq_outreach_items_open", "patient_id", "awaited_stage", "decision_date", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )


class OutreachAttempt(Base):
    """One call (or try) and its outcome."""

    __tablename__ = "outreach_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("outreach_items.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[str] = mapped_column(String(64))
    disposition: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    due: Mapped[dt.date | None] = mapped_column(Date)  # when to follow up
    coordinator: Mapped[str | None] = mapped_column(String(128))
    attempted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))  # UTC
    # Idempotency key: a retried POST (or a double-clicked Save) with the same key is stored
    # once; unique per patient (migration 0002_request_key), so one client's key can never
    # swallow another patient's call.
    client_request_id: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (Index("ix_outreach_attempts_patient_time", "patient_id", "attempted_at"),
                      Index("uq_outreach_attempts_request_key", "patient_id", "client_request_id", unique=True))
