"""push assignment: agent status, caps, skills and shift calendar; the customer's account owner; assignment offers

Revision ID: 0026
Revises: 0023
Create Date: 2026-11-30 15:00:00

Chained after 0023 (customer at-risk and review records), the newest on main when this was merged.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import router.models.columns

revision: str = "0026"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="offline"))
        batch.add_column(
            sa.Column("status_changed_at", router.models.columns.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("max_open", JSON, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("skills", JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("shift_calendar", sa.String(length=64), nullable=True))
    with op.batch_alter_table("agent") as batch:  # the defaults only filled the existing rows
        batch.alter_column("status", server_default=None)
        batch.alter_column("max_open", server_default=None)
        batch.alter_column("skills", server_default=None)
    # Not a batch (a copy of the table): SQLite's search view reads customer, and a rename under it fails.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE customer ADD COLUMN account_owner_id INTEGER REFERENCES agent (id)")
    else:
        op.add_column("customer", sa.Column("account_owner_id", sa.Integer(), nullable=True))
        op.create_foreign_key(None, "customer", "agent", ["account_owner_id"], ["id"])
    op.create_table(
        "assignment_offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("considered", JSON, nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("queued_at", router.models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("offered_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", router.models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assignment_offer_ticket_id", "assignment_offer", ["ticket_id"])
    op.create_index("ix_assignment_offer_agent_id", "assignment_offer", ["agent_id"])
    op.create_index("ix_assignment_offer_state_expires", "assignment_offer", ["state", "expires_at"])
    op.create_index("ix_assignment_offer_tier_agent_at", "assignment_offer", ["tier", "agent_id", "offered_at"])
    op.create_index(
        "ux_assignment_offer_pending_ticket",
        "assignment_offer",
        ["ticket_id"],
        unique=True,
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_table("assignment_offer")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("customer_account_owner_id_fkey", "customer", type_="foreignkey")
    op.drop_column("customer", "account_owner_id")
    with op.batch_alter_table("agent") as batch:
        for column in ("shift_calendar", "skills", "max_open", "status_changed_at", "status"):
            batch.drop_column(column)
