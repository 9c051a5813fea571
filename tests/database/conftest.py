"""Database fixtures: every test runs against an empty SQLite file and an empty PostgreSQL
database. PostgreSQL comes from CAREPATH_TEST_POSTGRES_URL (scripts/test.sh starts a
throwaway cluster and sets it); without it those cases are skipped, saying so."""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("CAREPATH_TEST_POSTGRES_URL")
POSTGRES_SKIP = ("CAREPATH_TEST_POSTGRES_URL is not set: PostgreSQL cases skipped "
                 "(scripts/test.sh starts a throwaway cluster and sets it)")
if os.environ.get("CAREPATH_TEST_POSTGRES_REQUIRED") and not POSTGRES_URL:  # scripts/test.sh (CI) sets it
    raise pytest.UsageError("CAREPATH_TEST_POSTGRES_REQUIRED is set but CAREPATH_TEST_POSTGRES_URL is not: "
                            "the PostgreSQL cluster did not start")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not POSTGRES_URL, reason=POSTGRES_SKIP))]


def _admin_engine():
    url = make_url(POSTGRES_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT"), url


@pytest.fixture
def empty_database_url(request, tmp_path):
    """The URL of an empty database of the backend named by the test's parameter."""
    backend = request.param
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'outreach.db'}"
        return
    admin, url = _admin_engine()
    name = f"carepath_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def outreach(empty_database_url):
    """An OutreachLog on an empty, migrated database."""
    from database.outreach import open_log

    log = open_log(url=empty_database_url)
    yield log
    log.engine.dispose()
