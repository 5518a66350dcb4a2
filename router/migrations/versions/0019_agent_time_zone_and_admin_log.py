"""agent.time_zone (a profile setting) and admin_event (the administration log of agents and customers)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import router.models.columns

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
    op.create_table(
        "admin_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=60), nullable=False),
        sa.Column(
            "data", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_admin_event_action", "admin_event", ["action"])
    op.create_index("ix_admin_event_subject_at", "admin_event", ["subject", "at"])


def downgrade() -> None:
    op.drop_index("ix_admin_event_subject_at", table_name="admin_event")
    op.drop_index("ix_admin_event_action", table_name="admin_event")
    op.drop_table("admin_event")
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("time_zone")
