"""request key unique per patient

The Worklist now sends a request key with every Save (a double click stores the call
once, as a retried API POST already did).  The key was unique across the whole table, so
a key reused by a client for another patient made that patient's call a silent
"replay" of the first; it is now unique per (patient_id, client_request_id).

Revision ID: 0002_request_key
Revises: 0001
Create Date: 2026-11-30
"""
from alembic import op

revision = "0002_request_key"
down_revision = "0001"
branch_labels = None
depends_on = None

# 0001 declared the column unique inline: PostgreSQL names that constraint
# <table>_<column>_key; SQLite leaves it unnamed, so the batch (copy-and-move) mode
# names it by this convention to drop it.
SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
OLD_UNIQUE = {"postgresql": "outreach_attempts_client_request_id_key",
              "sqlite": "uq_outreach_attempts_client_request_id"}
NEW_INDEX = "uq_outreach_attempts_request_key"


def _drop_old_unique() -> None:
    name = op.get_bind().dialect.name
    if name == "sqlite":
        with op.batch_alter_table("outreach_attempts", naming_convention=SQLITE_NAMES, recreate="always") as batch:
            batch.drop_constraint(OLD_UNIQUE["sqlite"], type_="unique")
    else:
        op.drop_constraint(OLD_UNIQUE.get(name, OLD_UNIQUE["postgresql"]), "outreach_attempts", type_="unique")


def upgrade() -> None:
    _drop_old_unique()
    op.create_index(NEW_INDEX, "outreach_attempts", ["patient_id", "client_request_id"], unique=True)


def downgrade() -> None:
    op.drop_index(NEW_INDEX, table_name="outreach_attempts")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("outreach_attempts", naming_convention=SQLITE_NAMES, recreate="always") as batch:
            batch.create_unique_constraint(OLD_UNIQUE["sqlite"], ["client_request_id"])
    else:
        op.create_unique_constraint(OLD_UNIQUE["postgresql"], "outreach_attempts", ["client_request_id"])
