"""Migrations from empty, on SQLite and PostgreSQL, and a downgrade/upgrade round trip."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect

from database.engine import make_engine
from database.migrate import current_revision, downgrade, head_revision, main, upgrade_to_head
from tests.database.conftest import BACKENDS

TABLES = {"outreach_items", "outreach_attempts"}


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_upgrade_from_empty_creates_the_tables_at_head(empty_database_url):
    engine = make_engine(empty_database_url)
    assert current_revision(engine) is None
    assert upgrade_to_head(engine) == head_revision()
    assert current_revision(engine) == head_revision()
    inspector = inspect(engine)
    assert TABLES <= set(inspector.get_table_names())
    assert "uq_outreach_items_open" in {i["name"] for i in inspector.get_indexes("outreach_items")}
    assert upgrade_to_head(engine) == head_revision()  # again: a no-op
    engine.dispose()


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_downgrade_to_base_and_upgrade_again(empty_database_url):
    engine = make_engine(empty_database_url)
    upgrade_to_head(engine)
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade_to_head(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_migrate_command_line(empty_database_url, capsys):
    main(["--url", empty_database_url])
    assert f"schema empty -> {head_revision()}" in capsys.readouterr().out


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_default_url_is_a_sqlite_file_in_the_runtime_folder(monkeypatch, tmp_path):
    from data.settings import get_settings

    monkeypatch.setenv("CAREPATH_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("CAREPATH_DATABASE_URL", raising=False)
    assert get_settings().database_url == f"sqlite:///{tmp_path.resolve() / 'carepath.db'}"
    monkeypatch.setenv("CAREPATH_DATABASE_URL", "postgresql+psycopg://u@db.example/carepath")
    assert get_settings().database_url == "postgresql+psycopg://u@db.example/carepath"


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_the_models_match_the_migrated_schema(empty_database_url):
    """tables.py and the migrations describe the same schema (a change needs a migration)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from database.tables import Base

    engine = make_engine(empty_database_url)
    upgrade_to_head(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []
