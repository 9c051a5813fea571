"""Bring the outreach database to the newest schema: ``python -m database.migrate [--url URL]``.

The app calls ``upgrade_to_head`` at start-up in every process; a lock (a file lock next to
a SQLite file, an advisory lock on PostgreSQL) makes sure two workers never migrate at once.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import Engine, text

from database.engine import WRITE_OPTION, make_engine, redacted

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_ID = 727_011_001  # any constant; the advisory lock held while migrating


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _run(engine: Engine, action, revision: str) -> None:
    config = alembic_config()
    with engine.connect() as connection:
        connection = connection.execution_options(**{WRITE_OPTION: True})
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
        try:
            config.attributes["connection"] = connection
            action(config, revision)
            connection.commit()
        finally:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
                connection.commit()


def _locked(engine: Engine):
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:":
        return FileLock(f"{database}.migrate.lock", timeout=120)
    from contextlib import nullcontext

    return nullcontext()


def upgrade_to_head(engine: Engine) -> str:
    """Migrate to the newest revision (a no-op when there already); returns it."""
    with _locked(engine):
        if current_revision(engine) != head_revision():
            _run(engine, command.upgrade, "head")
    return head_revision()


def downgrade(engine: Engine, revision: str = "base") -> None:
    with _locked(engine):
        _run(engine, command.downgrade, revision)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="SQLAlchemy URL (default: CAREPATH_DATABASE_URL or var/carepath.db)")
    args = parser.parse_args(argv)
    engine = make_engine(args.url)
    before = current_revision(engine)
    after = upgrade_to_head(engine)
    print(f"{redacted(str(engine.url))}: schema {before or 'empty'} -> {after}")


if __name__ == "__main__":
    main()
