"""outreach items and attempts

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outreach_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("awaited_stage", sa.String(64), nullable=True),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("closed_reason", sa.String(256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_outreach_items_patient_id", "outreach_items", ["patient_id"])
    op.create_index("uq_outreach_items_open", "outreach_items", ["patient_id", "awaited_stage", "decision_date"],
                    unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
    op.create_table(
        "outreach_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("outreach_items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("disposition", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("coordinator", sa.String(128), nullable=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_request_id", sa.String(128), nullable=True, unique=True),
    )
    op.create_index("ix_outreach_attempts_item_id", "outreach_attempts", ["item_id"])
    op.create_index("ix_outreach_attempts_patient_time", "outreach_attempts", ["patient_id", "attempted_at"])


def downgrade() -> None:
    op.drop_table("outreach_attempts")
    op.drop_table("outreach_items")
