"""web sessions stored server-side, so sign-out, deactivation and a password change end them

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import router.models.columns

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_session_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_session_token_hash"), ["token_hash"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_token_hash"))
        batch_op.drop_index(batch_op.f("ix_web_session_agent_id"))
    op.drop_table("web_session")
