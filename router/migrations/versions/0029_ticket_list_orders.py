"""ticket.priority_rank (computed) and partial indexes over the open tickets for the lists' orders

Revision ID: 0029
Revises: 0022
Create Date: 2026-11-30 12:50:00

"Most urgent first" sorted every open ticket of the filter by a ``CASE`` over ``priority``, reading each
row (37,000 for one tier's open tickets at 100 ms); a customer tier's "oldest first" walked the whole
table in id order to find the open ones. ``priority_rank`` is that ``CASE`` computed by the database
(stored on PostgreSQL, which rewrites the table once for it; virtual on SQLite), and two partial indexes
over the open tickets give both orders as index scans that stop at the page.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANK = "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 WHEN 'low' THEN 3 ELSE 4 END"
OPEN = "status IN ('new', 'queued', 'in_progress', 'waiting_on_customer')"


def upgrade() -> None:
    # Plain ADD COLUMN (PostgreSQL: GENERATED ... STORED; SQLite: a virtual column): SQLite's batch mode
    # would rebuild ``ticket`` and drop its triggers (migrations 0018 and 0028).
    stored = True if op.get_bind().dialect.name == "postgresql" else None  # said, so SQLAlchemy does not warn
    op.add_column(
        "ticket", sa.Column("priority_rank", sa.SmallInteger(), sa.Computed(RANK, persisted=stored), nullable=True)
    )
    where = sa.text(OPEN)
    op.create_index(
        "ix_ticket_open_priority", "ticket", ["priority_rank", "id"], postgresql_where=where, sqlite_where=where
    )
    op.create_index(
        "ix_ticket_open_customer_tier", "ticket", ["customer_tier", "id"], postgresql_where=where, sqlite_where=where
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_open_customer_tier", table_name="ticket")
    op.drop_index("ix_ticket_open_priority", table_name="ticket")
    op.drop_column("ticket", "priority_rank")
