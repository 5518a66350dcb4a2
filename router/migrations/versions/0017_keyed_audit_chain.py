"""keyed audit chain: each event names its HMAC key and records the ticket's state; existing chains sealed

Every event from now on is sealed with HMAC-SHA256 under a key kept outside the database and records the
ticket's state after it (``router.audit.chain``). Events already written stay as they are (plain SHA-256,
``key_id`` empty: "legacy"); each ticket that has any gets one keyed ``audit_keyed`` event on top, sealed
over its legacy head and its current row. This happens here, once, at the upgrade: afterwards an unkeyed
head is never valid, so nobody can pass a rewritten chain off as legacy (docs/audit.md).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

import router.models.columns
from router.audit.chain import Entry, chain_rows, state_of
from router.audit.keys import Keyring, load_keyring
from router.models.columns import utcnow
from router.settings import get_settings

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAGE = 1000
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TICKET = sa.table(
    "ticket",
    *(sa.column(name) for name in ("id", "audit_seq", "audit_head", "status", "support_tier", "priority")),
    *(sa.column(name) for name in ("assignee_id", "customer_tier")),
)
AUDIT = sa.table(
    "audit_event",
    *(sa.column(name) for name in ("ticket_id", "seq", "actor", "action", "from_tier", "to_tier", "reason")),
    sa.column("at", router.models.columns.UTCDateTime(timezone=True)),
    sa.column("data", JSON),
    sa.column("state", JSON),
    *(sa.column(name) for name in ("prev_hash", "hash", "key_id")),
)


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("state", JSON, nullable=True))
    _seal_existing_chains()


def _keyring() -> Keyring:
    """The key ``router.db.migrate`` was handed, or the one the settings name (made on first use)."""
    keyring = context.config.attributes.get("audit_keyring")
    return keyring if isinstance(keyring, Keyring) else load_keyring(get_settings())


def _seal_existing_chains() -> None:
    conn = op.get_bind()
    key: Any = None
    last_id, now = 0, utcnow()
    while True:
        tickets = conn.execute(
            sa.select(TICKET).where(TICKET.c.id > last_id, TICKET.c.audit_seq > 0).order_by(TICKET.c.id).limit(PAGE)
        ).all()
        if not tickets:
            return
        key = key or _keyring().current
        events, heads = [], []
        for t in tickets:
            entry = Entry("system", "audit_keyed", {"legacy_events": t.audit_seq}, state_of(dict(t._mapping)))
            [row] = chain_rows(key, t.id, [entry], now, after_seq=t.audit_seq, after_hash=t.audit_head)
            events.append(row)
            heads.append({"tid": t.id, "seq": row["seq"], "head": row["hash"]})
        conn.execute(sa.insert(AUDIT), events)
        conn.execute(
            sa.update(TICKET)
            .where(TICKET.c.id == sa.bindparam("tid"))
            .values(audit_seq=sa.bindparam("seq"), audit_head=sa.bindparam("head")),
            heads,
        )
        last_id = tickets[-1].id


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("state")
        batch_op.drop_column("key_id")
