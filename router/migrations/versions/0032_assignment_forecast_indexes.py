"""Indexes for push assignment's loads and the forecast's waiting queue

Revision ID: 0032
Revises: 0030
Create Date: 2026-11-30 16:20:00

* ``ix_ticket_open_assignee_tier``: the assigner counts the open tickets each candidate holds in the tier on
  every transaction; by ``ix_ticket_assignee_id`` it read every held ticket's row to check its tier and
  status (15 ms at 6,000 held). Over the open, assigned tickets only, an index-only count (1.5 ms).
* ``ix_ticket_waiting_claim_order``: a tier's waiting tickets (queued, unassigned) in claim order (priority,
  customer tier, age, id), the due time beside them: the forecast reads the whole queue in that order; it
  sorted 100,000 rows on disk (400 ms), it is now an index-only scan.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_ASSIGNED = "status IN ('new', 'queued', 'in_progress', 'waiting_on_customer') AND assignee_id IS NOT NULL"
WAITING = "status = 'queued' AND assignee_id IS NULL"


def upgrade() -> None:
    where = sa.text(OPEN_ASSIGNED)
    op.create_index(
        "ix_ticket_open_assignee_tier",
        "ticket",
        ["assignee_id", "support_tier"],
        postgresql_where=where,
        sqlite_where=where,
    )
    waiting = sa.text(WAITING)
    op.create_index(
        "ix_ticket_waiting_claim_order",
        "ticket",
        ["support_tier", "priority_rank", "customer_tier", "created_at", "id"],
        postgresql_include=["sla_next_due_at"],
        postgresql_where=waiting,
        sqlite_where=waiting,
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_waiting_claim_order", table_name="ticket")
    op.drop_index("ix_ticket_open_assignee_tier", table_name="ticket")
