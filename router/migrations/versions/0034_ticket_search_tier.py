"""ticket_search.support_tier: an agent's text search checks each match's tier in the document's own row

Revision ID: 0034
Revises: 0032
Create Date: 2026-11-30 18:30:00

An agent sees the tiers they work. Their search joined every match to the ticket table for its tier
(``ix_ticket_id_tier``, migration 0033): one index probe per match, and for a rare word whose matches had
not been read lately each probe was a read from disk (249 of them, 24 ms, in a 1,000,000-ticket search).
The search reads each match's index row anyway (its document is ranked), so the tier is kept there:
PostgreSQL's ``ticket_search`` gains ``support_tier``, written with the document
(``ticket_search_refresh``) and kept by a trigger when a ticket changes tier (routing, escalation,
de-escalation, a hand-off; any write path, in the same statement), and a search with no filter but the
agent's tiers reads the index table alone. SQLite's FTS5 index is unchanged (its search joins the tickets,
which are local and cheap to read).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0034"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: Migration 0018's document, as it stands there (a migration is frozen: it never imports another's text).
PG_DOCUMENT = """
    setweight(to_tsvector('english', t.subject), 'A')
 || setweight(to_tsvector('english', concat_ws(' ', t.requester_email, translate(t.requester_email, '@.', '  '),
        c.name, c.external_ref)), 'B')
 || setweight(to_tsvector('english', left(coalesce((
        SELECT string_agg(m.body_text, ' ' ORDER BY m.id) FROM message m
        WHERE m.ticket_id = t.id AND m.kind = 'message'), ''), 100000)), 'C')
"""


def _refresh(*, with_tier: bool) -> str:
    """``ticket_search_refresh`` writing the tier with the document (or, to go back, without it)."""
    if with_tier:
        columns, values, update = (
            "ticket_id, support_tier, document",
            "t.id, t.support_tier,",
            ", support_tier = excluded.support_tier",
        )
    else:
        columns, values, update = "ticket_id, document", "t.id,", ""
    return f"""CREATE OR REPLACE FUNCTION ticket_search_refresh(ticket_ids integer[]) RETURNS void LANGUAGE sql AS $$
        INSERT INTO ticket_search ({columns})
        SELECT {values} {PG_DOCUMENT}
        FROM ticket t LEFT JOIN customer c ON c.id = t.customer_id
        WHERE t.id = ANY(ticket_ids)
        ON CONFLICT (ticket_id) DO UPDATE SET document = excluded.document{update}
    $$"""


UPGRADE = [
    "ALTER TABLE ticket_search ADD COLUMN support_tier integer",
    """UPDATE ticket_search s SET support_tier = t.support_tier FROM ticket t
        WHERE t.id = s.ticket_id AND t.support_tier IS NOT NULL""",
    _refresh(with_tier=True),
    """CREATE FUNCTION ticket_search_on_tier_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE ticket_search SET support_tier = NEW.support_tier WHERE ticket_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER ticket_search_ticket_tier AFTER UPDATE OF support_tier ON ticket
        FOR EACH ROW WHEN (OLD.support_tier IS DISTINCT FROM NEW.support_tier)
        EXECUTE FUNCTION ticket_search_on_tier_change()""",
]

DOWNGRADE = [
    "DROP TRIGGER IF EXISTS ticket_search_ticket_tier ON ticket",
    "DROP FUNCTION IF EXISTS ticket_search_on_tier_change()",
    _refresh(with_tier=False),
    "ALTER TABLE ticket_search DROP COLUMN support_tier",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in DOWNGRADE:
        op.execute(statement)
