"""ix_ticket_id_tier: an agent's text search checks each match's tier from an index

Revision ID: 0033
Revises: 0026
Create Date: 2026-11-30 16:20:00

An agent sees the tiers they work, so their search joins every match to its ticket row for the tier: at a
million tickets a rare word's 1,800 matches were 1,800 random visits to the ticket table (most of the
agent's search time; a lead's search, with no tier condition, never reads a ticket row before the page).
``(id, support_tier)`` answers that join from the index alone (PostgreSQL: an index-only scan while the
table's visibility map is current, which autovacuum keeps; SQLite: a covering index).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0033"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ticket_id_tier", "ticket", ["id", "support_tier"])


def downgrade() -> None:
    op.drop_index("ix_ticket_id_tier", table_name="ticket")
