"""breach_prediction: the breach forecast's predictions and whether they came true

Revision ID: 0027
Revises: 0021
Create Date: 2026-11-30 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import router.models.columns

revision: str = "0027"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "breach_prediction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("predicted_start", router.models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("made_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("came_true", sa.Boolean(), nullable=True),
        sa.Column("settled_at", router.models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "tier", "due_at", name="uq_breach_prediction_ticket_tier_due"),
    )
    op.create_index("ix_breach_prediction_ticket_id", "breach_prediction", ["ticket_id"])
    op.create_index("ix_breach_prediction_made_at", "breach_prediction", ["made_at"])
    op.create_index("ix_breach_prediction_open", "breach_prediction", ["came_true", "due_at"])


def downgrade() -> None:
    op.drop_table("breach_prediction")
