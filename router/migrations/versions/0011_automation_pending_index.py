"""tier automation still to run: a partial index, read by every batched automation job and the sweep

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_ticket_automation_pending",
        "ticket",
        ["automation_tier", "id"],
        unique=False,
        postgresql_where=sa.text("automation_tier IS NOT NULL"),
        sqlite_where=sa.text("automation_tier IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_automation_pending", table_name="ticket")
