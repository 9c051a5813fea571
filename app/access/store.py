"""The users and audit tables, on the app's database (CAREPATH_DATABASE_URL, SQLite by default)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import Engine

from data.settings import Settings, get_settings
from database.audit import AuditTrail
from database.engine import make_engine
from database.migrate import upgrade_to_head
from database.users import UserStore


@dataclass(frozen=True)
class AccessStore:
    engine: Engine
    users: UserStore
    audit: AuditTrail


def open_store(settings: Settings | None = None, url: str | None = None, for_server: bool = False) -> AccessStore:
    """The store, migrated to the newest schema. ``for_server``: no pooled connection crosses a fork."""
    settings = settings or get_settings()
    engine = make_engine(url or settings.database_url, settings)
    upgrade_to_head(engine)
    if for_server:
        engine.dispose()
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    return AccessStore(engine=engine, users=UserStore(engine), audit=AuditTrail(engine))


class AccessUnavailable(RuntimeError):
    """The users/audit database cannot be reached: nobody can sign in, nothing protected is served."""


class LazyStore:
    """The store, opened at start-up or, when the database is down then, on a later request
    (at most every ``retry_seconds``), so a database that comes back needs no restart."""

    def __init__(self, settings: Settings, log=print, retry_seconds: float = 30.0, clock=None):
        import threading
        import time

        self.settings, self.log, self.retry_seconds = settings, log, retry_seconds
        self._clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._store: AccessStore | None = None
        self._next_try = 0.0
        self.reason = ""
        self.get(raise_error=False)

    def get(self, raise_error: bool = True) -> AccessStore | None:
        if self._store is None and self._clock() >= self._next_try:
            with self._lock:
                if self._store is None and self._clock() >= self._next_try:
                    self._next_try = self._clock() + self.retry_seconds
                    try:
                        self._store = open_store(self.settings, for_server=True)
                    except Exception as error:  # noqa: BLE001 - unreachable server, bad URL, missing driver
                        self.reason = (f"The sign-in database ({self.settings.database_url.split('@')[-1]}) "
                                       f"cannot be reached: {str(error).splitlines()[0][:200]}")
                        self.log(f"access control unavailable: {self.reason}")
        if self._store is None and raise_error:
            raise AccessUnavailable(self.reason or "The sign-in database is not open.")
        return self._store
