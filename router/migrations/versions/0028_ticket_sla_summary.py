"""ticket.sla_next_due_at and ticket.sla_state: each ticket's SLA summary, kept by triggers on sla_clock

Revision ID: 0028
Revises: 0020
Create Date: 2026-11-30 12:20:00

The ticket lists sort by "SLA due soonest" and filter by SLA state (breached, warning, paused, ok, none).
Computed from ``sla_clock`` per request, both cost a correlated subquery for every ticket the filters let
through before the first page can be cut: 100,000 open tickets, 100,000 subqueries. Stored on the ticket and
indexed, the first page is an index scan that stops after 50 rows.

- ``sla_next_due_at``: the soonest ``due_at`` of the ticket's clocks that are neither stopped nor paused;
  ``9000-01-01`` (``Ticket.NO_SLA_DUE``) without one, so it sorts last and a cursor needs no NULL case.
- ``sla_state``: ``breached`` if a running (not stopped) clock is breached, else ``warning`` if one is
  warned, else ``paused`` if one is paused, else ``ok`` if there is one; NULL without a running clock.

The database keeps them, as it keeps the search index (migration 0018): every write path (the ORM, the
batched intake statements, SQL by hand) updates them in the same statement and transaction.

- PostgreSQL: statement-level triggers on ``sla_clock`` with transition tables refresh every ticket a
  statement touched, in one ``UPDATE`` (an intake batch of 2,000 tickets: one statement).
- SQLite: row-level triggers.

A later migration that rebuilds ``sla_clock`` in SQLite's batch mode drops its triggers with the table: it
must create them again (``SQLITE_TRIGGERS`` below).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import router.models.columns

revision: str = "0028"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_NO_DUE = "'9000-01-01 00:00:00+00'::timestamptz"
SQLITE_NO_DUE = "'9000-01-01 00:00:00.000000'"

# ---------------------------------------------------------------------------------------- PostgreSQL
#: The summary of every ticket in ``ids`` (a ticket with no running clock included: it gets the defaults).
PG_SUMMARY = f"""
    SELECT i.id,
           coalesce(min(c.due_at) FILTER (WHERE c.paused_at IS NULL), {PG_NO_DUE}) AS due,
           CASE WHEN bool_or(c.state = 'breached') THEN 'breached'
                WHEN bool_or(c.state = 'warning') THEN 'warning'
                WHEN bool_or(c.paused_at IS NOT NULL) THEN 'paused'
                WHEN count(c.id) > 0 THEN 'ok' END AS state
    FROM unnest(ticket_ids) AS i(id) LEFT JOIN sla_clock c ON c.ticket_id = i.id AND c.stopped_at IS NULL
    GROUP BY i.id
"""

PG_SETUP = [
    f"""CREATE FUNCTION ticket_sla_refresh(ticket_ids integer[]) RETURNS void LANGUAGE sql AS $$
        UPDATE ticket t SET sla_next_due_at = s.due, sla_state = s.state
        FROM ({PG_SUMMARY}) s
        WHERE t.id = s.id AND (t.sla_next_due_at IS DISTINCT FROM s.due OR t.sla_state IS DISTINCT FROM s.state)
    $$""",
    """CREATE FUNCTION ticket_sla_on_clock_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ticket_sla_refresh(ARRAY(SELECT DISTINCT ticket_id FROM inserted));
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION ticket_sla_on_clock_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ticket_sla_refresh(ARRAY(SELECT ticket_id FROM changed_old UNION SELECT ticket_id FROM changed_new));
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION ticket_sla_on_clock_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM ticket_sla_refresh(ARRAY(SELECT DISTINCT ticket_id FROM deleted));
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER ticket_sla_clock_insert AFTER INSERT ON sla_clock
        REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION ticket_sla_on_clock_insert()""",
    """CREATE TRIGGER ticket_sla_clock_update AFTER UPDATE ON sla_clock
        REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
        FOR EACH STATEMENT EXECUTE FUNCTION ticket_sla_on_clock_update()""",
    """CREATE TRIGGER ticket_sla_clock_delete AFTER DELETE ON sla_clock
        REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION ticket_sla_on_clock_delete()""",
    # Backfill: only tickets with a running clock differ from the defaults.
    """SELECT ticket_sla_refresh(ARRAY(SELECT DISTINCT ticket_id FROM sla_clock WHERE stopped_at IS NULL))""",
]

PG_TEARDOWN = [
    "DROP TRIGGER IF EXISTS ticket_sla_clock_delete ON sla_clock",
    "DROP TRIGGER IF EXISTS ticket_sla_clock_update ON sla_clock",
    "DROP TRIGGER IF EXISTS ticket_sla_clock_insert ON sla_clock",
    "DROP FUNCTION IF EXISTS ticket_sla_on_clock_delete()",
    "DROP FUNCTION IF EXISTS ticket_sla_on_clock_update()",
    "DROP FUNCTION IF EXISTS ticket_sla_on_clock_insert()",
    "DROP FUNCTION IF EXISTS ticket_sla_refresh(integer[])",
]

# -------------------------------------------------------------------------------------------- SQLite
_SQLITE_SET = f"""UPDATE ticket SET
    sla_next_due_at = coalesce((SELECT min(c.due_at) FROM sla_clock c
        WHERE c.ticket_id = ticket.id AND c.stopped_at IS NULL AND c.paused_at IS NULL), {SQLITE_NO_DUE}),
    sla_state = (SELECT CASE WHEN max(c.state = 'breached') THEN 'breached'
                             WHEN max(c.state = 'warning') THEN 'warning'
                             WHEN max(c.paused_at IS NOT NULL) THEN 'paused'
                             WHEN count(*) > 0 THEN 'ok' END
        FROM sla_clock c WHERE c.ticket_id = ticket.id AND c.stopped_at IS NULL)"""

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER ticket_sla_clock_insert AFTER INSERT ON sla_clock BEGIN {_SQLITE_SET} "
    "WHERE id = new.ticket_id; END",
    f"CREATE TRIGGER ticket_sla_clock_update AFTER UPDATE ON sla_clock BEGIN {_SQLITE_SET} "
    "WHERE id IN (old.ticket_id, new.ticket_id); END",
    f"CREATE TRIGGER ticket_sla_clock_delete AFTER DELETE ON sla_clock BEGIN {_SQLITE_SET} "
    "WHERE id = old.ticket_id; END",
]
SQLITE_BACKFILL = f"{_SQLITE_SET} WHERE id IN (SELECT ticket_id FROM sla_clock WHERE stopped_at IS NULL)"


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: SQLite's batch mode would rebuild ``ticket`` and drop its search
    # triggers (migration 0018) with it.
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column(
        "ticket",
        sa.Column(
            "sla_next_due_at",
            router.models.columns.UTCDateTime(timezone=True),
            nullable=False,
            server_default=sa.text(PG_NO_DUE if postgres else SQLITE_NO_DUE),
        ),
    )
    op.add_column("ticket", sa.Column("sla_state", sa.String(length=16), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_SETUP:
            op.execute(statement)
    else:
        for statement in [*SQLITE_TRIGGERS, SQLITE_BACKFILL]:
            op.execute(statement)
    op.create_index("ix_ticket_sla_next_due", "ticket", ["sla_next_due_at", "id"])
    op.create_index(
        "ix_ticket_sla_state_due",
        "ticket",
        ["sla_state", "sla_next_due_at", "id"],
        postgresql_where=sa.text("sla_state IS NOT NULL"),
        sqlite_where=sa.text("sla_state IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_sla_state_due", table_name="ticket")
    op.drop_index("ix_ticket_sla_next_due", table_name="ticket")
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_TEARDOWN:
            op.execute(statement)
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS ticket_sla_clock_{name}")
    op.drop_column("ticket", "sla_state")
    op.drop_column("ticket", "sla_next_due_at")
