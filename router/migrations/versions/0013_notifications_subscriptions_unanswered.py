"""notifications to agents, when each webhook subscription was first seen, unanswered first responses

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 08:36:40

``report_day`` gains ``fr_unanswered``; the roll-ups of a database that already holds facts are recomputed
here, with the columns the code now writes (0010 marks its days dirty instead, so it never runs code that
writes a column added after it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import router.models.columns

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("first_seen_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", router.models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("mail_status", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_agent_unread", ["agent_id", "read_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("report_day", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fr_unanswered", sa.Integer(), nullable=False, server_default="0"))
    _recompute_roll_ups()


def _recompute_roll_ups() -> None:
    """Every roll-up from the facts (a new database has none and skips it)."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM report_ticket LIMIT 1")).first() is None:
        return
    from router.reports.rollups import refresh_statements

    for statement in refresh_statements(bind.dialect.name):
        bind.execute(statement)
    bind.execute(sa.text("DELETE FROM report_dirty_day"))


def downgrade() -> None:
    with op.batch_alter_table("report_day", schema=None) as batch_op:
        batch_op.drop_column("fr_unanswered")

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_ticket_id"))
        batch_op.drop_index("ix_notification_agent_unread")

    op.drop_table("notification")
    op.drop_table("webhook_subscription")
