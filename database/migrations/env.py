"""Alembic environment: always run programmatically with a connection (database.migrate)."""
from alembic import context

from database.tables import Base
import database.access_tables  # noqa: F401  (registers the access tables on Base.metadata)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `python -m database.migrate` (it passes a connection)")

context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
