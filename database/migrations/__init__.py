"""Alembic migrations for the outreach tables; run by ``database.migrate.upgrade_to_head``."""
