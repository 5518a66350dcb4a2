"""workspace: full-text search over tickets (tsvector + GIN / FTS5), saved views, recently viewed tickets

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 09:30:00

The search index, ``ticket_search``, holds one document per ticket: its subject, the bodies of its
messages (people's words: ``kind = 'message'``, not tier automation's mail; the first 100,000 characters),
the requester's address (whole, and split at ``@`` and ``.`` so a name or a domain finds it) and the
customer's name and reference. The database keeps it current with
triggers, so every write path (the ORM, the batched intake statements, SQL by hand) updates it in the
same statement and transaction, with no extra round trip:

- PostgreSQL: a table ``(ticket_id, document tsvector)`` with a GIN index; statement-level triggers with
  transition tables index a whole intake batch in one statement.
- SQLite: an FTS5 table whose external content is the view ``ticket_search_source``. FTS5 removes a
  document by being told its old values, so each trigger deletes a document *before* a change (computed
  from the view, as it was indexed) and inserts it again *after*. ``INSERT INTO ticket_search(ticket_search)
  VALUES ('rebuild')`` rebuilds it from the view.

A later migration that rebuilds ``ticket``, ``message`` or ``customer`` in SQLite's batch mode drops their
triggers with the table: it must create them again (``sqlite_triggers()`` below).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import router.models.columns

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Characters of a ticket's messages that are indexed (a tsvector holds at most 1 MB).
BODY_CHARS = 100_000

# ---------------------------------------------------------------------------------------- PostgreSQL
PG_DOCUMENT = f"""
    setweight(to_tsvector('english', t.subject), 'A')
 || setweight(to_tsvector('english', concat_ws(' ', t.requester_email, translate(t.requester_email, '@.', '  '),
        c.name, c.external_ref)), 'B')
 || setweight(to_tsvector('english', left(coalesce((
        SELECT string_agg(m.body_text, ' ' ORDER BY m.id) FROM message m
        WHERE m.ticket_id = t.id AND m.kind = 'message'), ''), {BODY_CHARS})), 'C')
"""

PG_SETUP = [
    """CREATE TABLE ticket_search (
        ticket_id integer PRIMARY KEY REFERENCES ticket (id) ON DELETE CASCADE,
        document tsvector NOT NULL
    )""",
    "CREATE INDEX ticket_search_document ON ticket_search USING gin (document)",
    f"""CREATE FUNCTION ticket_search_refresh(ticket_ids integer[]) RETURNS void LANGUAGE sql AS $$
        INSERT INTO ticket_search (ticket_id, document)
        SELECT t.id, {PG_DOCUMENT}
        FROM ticket t LEFT JOIN customer c ON c.id = t.customer_id
        WHERE t.id = ANY(ticket_ids)
        ON CONFLICT (ticket_id) DO UPDATE SET document = excluded.document
    $$""",
    """CREATE FUNCTION ticket_search_on_ticket_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ticket_search_refresh(ARRAY(SELECT id FROM inserted));
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER ticket_search_ticket_insert AFTER INSERT ON ticket
        REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION ticket_search_on_ticket_insert()""",
    """CREATE FUNCTION ticket_search_on_message_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ticket_search_refresh(ARRAY(SELECT DISTINCT ticket_id FROM inserted WHERE kind = 'message'));
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER ticket_search_message_insert AFTER INSERT ON message
        REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION ticket_search_on_message_insert()""",
    """CREATE FUNCTION ticket_search_on_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_TABLE_NAME = 'ticket' THEN
            PERFORM ticket_search_refresh(ARRAY[NEW.id]);
        ELSIF TG_TABLE_NAME = 'message' THEN
            PERFORM ticket_search_refresh(ARRAY[OLD.ticket_id, NEW.ticket_id]);
        ELSE
            PERFORM ticket_search_refresh(ARRAY(SELECT id FROM ticket WHERE customer_id = NEW.id));
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER ticket_search_ticket_update AFTER UPDATE OF subject, requester_email, customer_id ON ticket
        FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject
            OR OLD.requester_email IS DISTINCT FROM NEW.requester_email
            OR OLD.customer_id IS DISTINCT FROM NEW.customer_id)
        EXECUTE FUNCTION ticket_search_on_row_change()""",
    """CREATE TRIGGER ticket_search_message_update AFTER UPDATE OF body_text, kind, ticket_id ON message
        FOR EACH ROW WHEN (OLD.body_text IS DISTINCT FROM NEW.body_text OR OLD.kind IS DISTINCT FROM NEW.kind
            OR OLD.ticket_id IS DISTINCT FROM NEW.ticket_id)
        EXECUTE FUNCTION ticket_search_on_row_change()""",
    """CREATE TRIGGER ticket_search_customer_update AFTER UPDATE OF name, external_ref ON customer
        FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.external_ref IS DISTINCT FROM NEW.external_ref)
        EXECUTE FUNCTION ticket_search_on_row_change()""",
    "SELECT ticket_search_refresh(ARRAY(SELECT id FROM ticket))",
]

PG_TEARDOWN = [
    "DROP TRIGGER IF EXISTS ticket_search_customer_update ON customer",
    "DROP TRIGGER IF EXISTS ticket_search_message_update ON message",
    "DROP TRIGGER IF EXISTS ticket_search_ticket_update ON ticket",
    "DROP TRIGGER IF EXISTS ticket_search_message_insert ON message",
    "DROP TRIGGER IF EXISTS ticket_search_ticket_insert ON ticket",
    "DROP FUNCTION IF EXISTS ticket_search_on_row_change()",
    "DROP FUNCTION IF EXISTS ticket_search_on_message_insert()",
    "DROP FUNCTION IF EXISTS ticket_search_on_ticket_insert()",
    "DROP FUNCTION IF EXISTS ticket_search_refresh(integer[])",
    "DROP TABLE IF EXISTS ticket_search",
]

# -------------------------------------------------------------------------------------------- SQLite
SQLITE_COLUMNS = "subject, body, requester, customer"
SQLITE_SOURCE = f"""CREATE VIEW ticket_search_source AS
    SELECT t.id AS id,
           t.subject AS subject,
           coalesce((SELECT substr(group_concat(body_text, ' '), 1, {BODY_CHARS}) FROM (
               SELECT m.body_text FROM message m WHERE m.ticket_id = t.id AND m.kind = 'message' ORDER BY m.id
           )), '') AS body,
           t.requester_email AS requester,
           coalesce((SELECT c.name || ' ' || c.external_ref FROM customer c WHERE c.id = t.customer_id), '') AS customer
    FROM ticket t"""


def _sqlite_remove(ids: str) -> str:
    return (
        f"INSERT INTO ticket_search (ticket_search, rowid, {SQLITE_COLUMNS}) "
        f"SELECT 'delete', id, {SQLITE_COLUMNS} FROM ticket_search_source WHERE id IN ({ids});"
    )


def _sqlite_add(ids: str) -> str:
    return (
        f"INSERT INTO ticket_search (rowid, {SQLITE_COLUMNS}) "
        f"SELECT id, {SQLITE_COLUMNS} FROM ticket_search_source WHERE id IN ({ids});"
    )


def _sqlite_pair(name: str, event: str, table: str, when: str, before_ids: str, after_ids: str) -> list[str]:
    """A document removed before the change (as it was indexed) and added again after it."""
    condition = f" WHEN {when}" if when else ""
    return [
        f"CREATE TRIGGER ticket_search_{name}_before BEFORE {event} ON {table}{condition} "
        f"BEGIN {_sqlite_remove(before_ids)} END",
        f"CREATE TRIGGER ticket_search_{name}_after AFTER {event} ON {table}{condition} "
        f"BEGIN {_sqlite_add(after_ids)} END",
    ]


def sqlite_triggers() -> list[str]:
    """The triggers that keep the FTS5 index current (a batch rebuild of their tables drops them)."""
    customer_tickets = "SELECT id FROM ticket WHERE customer_id = {}.id"
    return [
        f"CREATE TRIGGER ticket_search_ticket_insert AFTER INSERT ON ticket BEGIN {_sqlite_add('new.id')} END",
        f"CREATE TRIGGER ticket_search_ticket_delete BEFORE DELETE ON ticket BEGIN {_sqlite_remove('old.id')} END",
        *_sqlite_pair(
            "ticket_update", "UPDATE OF subject, requester_email, customer_id", "ticket", "", "old.id", "new.id"
        ),
        *_sqlite_pair("message_insert", "INSERT", "message", "new.kind = 'message'", "new.ticket_id", "new.ticket_id"),
        *_sqlite_pair("message_delete", "DELETE", "message", "old.kind = 'message'", "old.ticket_id", "old.ticket_id"),
        *_sqlite_pair(
            "message_update",
            "UPDATE OF body_text, kind, ticket_id",
            "message",
            "",
            "old.ticket_id, new.ticket_id",
            "old.ticket_id, new.ticket_id",
        ),
        *_sqlite_pair(
            "customer_update",
            "UPDATE OF name, external_ref",
            "customer",
            "",
            customer_tickets.format("old"),
            customer_tickets.format("new"),
        ),
    ]


SQLITE_SETUP = [
    SQLITE_SOURCE,
    f"""CREATE VIRTUAL TABLE ticket_search USING fts5({SQLITE_COLUMNS}, content='ticket_search_source',
        content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')""",
    *sqlite_triggers(),
    "INSERT INTO ticket_search (ticket_search) VALUES ('rebuild')",
]
SQLITE_TRIGGER_NAMES = [
    "ticket_insert",
    "ticket_delete",
    "ticket_update_before",
    "ticket_update_after",
    "message_insert_before",
    "message_insert_after",
    "message_delete_before",
    "message_delete_after",
    "message_update_before",
    "message_update_after",
    "customer_update_before",
    "customer_update_after",
]


def upgrade() -> None:
    op.create_table(
        "saved_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("filters", router.models.columns.JSONColumn, nullable=False),
        sa.Column("created_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_saved_view_owner", "saved_view", ["owner_id", "name"])
    op.create_index("ix_saved_view_shared", "saved_view", ["shared"])
    op.create_table(
        "recent_ticket",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("viewed_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("agent_id", "ticket_id"),
    )
    op.create_index("ix_recent_ticket_agent_viewed", "recent_ticket", ["agent_id", "viewed_at"])
    setup = PG_SETUP if op.get_bind().dialect.name == "postgresql" else SQLITE_SETUP
    for statement in setup:
        op.execute(sa.text(statement))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        teardown = PG_TEARDOWN
    else:
        teardown = [f"DROP TRIGGER IF EXISTS ticket_search_{name}" for name in SQLITE_TRIGGER_NAMES]
        teardown += ["DROP TABLE IF EXISTS ticket_search", "DROP VIEW IF EXISTS ticket_search_source"]
    for statement in teardown:
        op.execute(sa.text(statement))
    op.drop_index("ix_recent_ticket_agent_viewed", table_name="recent_ticket")
    op.drop_table("recent_ticket")
    op.drop_index("ix_saved_view_shared", table_name="saved_view")
    op.drop_index("ix_saved_view_owner", table_name="saved_view")
    op.drop_table("saved_view")
