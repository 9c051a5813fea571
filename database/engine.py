"""The SQLAlchemy engine from the settings: SQLite in the runtime folder by default, any URL otherwise.

SQLite is set up for several gunicorn workers writing at once: WAL (readers never wait for
the writer), a busy timeout (a writer waits for the lock instead of failing), foreign keys
on, and write transactions that take the write lock at BEGIN (``BEGIN IMMEDIATE``), because
a deferred transaction that reads, then writes, fails at once with "database is locked"
when another worker committed in between; waiting at BEGIN is what busy_timeout covers.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url

from data.settings import Settings, get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Execution option that marks a connection's next transaction as a write (see write_transaction).
WRITE_OPTION = "carepath_write"


def database_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return settings.database_url or f"sqlite:///{settings.var_dir / 'carepath.db'}"


def redacted(url: str) -> str:
    """The URL without its password, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str | None = None, settings: Settings | None = None, **options) -> Engine:
    url = url or database_url(settings)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **options)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3, not the psycopg2 default
    options.setdefault("pool_pre_ping", True)
    # Fail fast when the server is down: the app starts anyway and says the log is unavailable.
    options.setdefault("connect_args", {"connect_timeout": 5})
    return create_engine(parsed, **options)


def _sqlite_engine(parsed, **options) -> Engine:
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; safe with WAL
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection):
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: Engine, lock_key: str | None = None):
    """One write transaction: committed on success, rolled back on any error.

    SQLite: BEGIN IMMEDIATE serialises writers. PostgreSQL: with ``lock_key``, a
    transaction-scoped advisory lock serialises writers of the same key (one patient),
    so "find the open item, else create it" cannot run twice at once.
    """
    with engine.connect() as connection:
        connection = connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            if lock_key is not None and engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": lock_key})
            yield connection
