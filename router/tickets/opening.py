"""Open a batch of new tickets, routed, in one transaction and a handful of statements: group commit's half
of the ticket service.

The same ticket opened one at a time (``service.open_ticket`` then ``routing.route_opened``) costs about
fifteen round trips and a dozen ORM objects; here a batch of any size costs about ten statements (one
multi-row ``INSERT`` per table) and plain rows. What is written is the same, row for row: the ticket in
its tier and queued, its first message, its ``created`` and ``routed`` audit events (hash-chained), its
SLA clocks, its outbox events, its delivery ledger row and its report facts; after the commit, its tier
queue entry, SLA timers and one tier-automation job per tier for the whole batch.
``tests/tickets/test_opening.py`` holds both paths to the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers import service as customers
from router.effects import PlaceInQueue, PublishEvent, after_commit, automation_batch_job, route_job
from router.errors import DomainError, Unavailable
from router.metrics import TICKETS_ROUTED
from router.models import metadata
from router.models.columns import utcnow
from router.reports import facts
from router.tickets import deferrals
from router.tickets.drafts import Draft, draft
from router.tickets.inputs import Deferred, NewTicket, Opened, Outcome
from router.tierqueues.ordering import created_ms, queue_score
from rules import Rulebook

log = structlog.get_logger(__name__)

TICKET = metadata.tables["ticket"]
MESSAGE = metadata.tables["message"]
AUDIT = metadata.tables["audit_event"]
CLOCK = metadata.tables["sla_clock"]
OUTBOX = metadata.tables["outbox_event"]
LEDGER = metadata.tables["delivery"]
INBOUND = metadata.tables["inbound_mail"]
ATTACHMENT = metadata.tables["attachment"]


async def open_batch(session: AsyncSession, items: Sequence[NewTicket], rulebook: Rulebook) -> list[Outcome]:
    """Open ``items`` in the session's transaction; one outcome per item, in order.

    A delivery seen before (committed, or earlier in this batch) answers with its ticket (``created``
    False); a copy committed by a concurrent transaction meanwhile is found at the ledger's unique key
    (``ON CONFLICT DO NOTHING``) and answered the same way, its draft taken back. An item that cannot be
    opened (an unknown customer reference) gets its error; the others go on.
    """
    outcomes: list[Outcome | None] = [None] * len(items)
    firsts: dict[tuple[str, str], int] = {}
    copies: dict[int, tuple[str, str]] = {}
    for i, item in enumerate(items):
        if item.key is not None:
            if item.key in firsts:
                copies[i] = item.key
                continue
            firsts[item.key] = i
    conn = await session.connection()
    for key, opened in (await _delivered(conn, list(firsts))).items():
        outcomes[firsts.pop(key)] = opened
    await deferrals.defer_merges(conn, items, outcomes, copies)
    now = utcnow()
    await deferrals.defer_mail(conn, items, outcomes, now=now)
    todo = [i for i, o in enumerate(outcomes) if o is None and i not in copies]
    found = await customers.find_for_requesters(
        session, [(items[i].requester_email, items[i].customer_ref) for i in todo]
    )
    ids = await _allocate_ids(conn, len(todo))
    drafts: list[Draft] = []
    for i, customer, ticket_id in zip(todo, found, ids, strict=True):
        if isinstance(customer, DomainError):
            outcomes[i] = customer
            continue
        drafts.append(draft(session, i, items[i], customer, ticket_id, now, rulebook))
    if drafts:
        await conn.execute(insert(TICKET), [d.ticket for d in drafts])
        lost = await _ledger(conn, drafts, now)
        if lost:
            await conn.execute(delete(TICKET).where(TICKET.c.id.in_([d.ticket["id"] for d in lost])))
            lost_keys = [d.item.key for d in lost if d.item.key is not None]
            winners = await _delivered(conn, lost_keys)
            for d in lost:
                if d.item.key is None:  # an email whose Message-ID a concurrent copy recorded first
                    outcomes[d.index] = Deferred()
                    continue
                winner = winners.get(d.item.key)
                outcomes[d.index] = winner or Unavailable(
                    "a concurrent copy of this delivery failed; retry", retry_after=1
                )
            drafts = [d for d in drafts if d not in lost]
    if drafts:
        await _write(conn, drafts)
        _after_commit(session, drafts)
        for d in drafts:
            outcomes[d.index] = Opened(d.ticket["id"], d.ticket["ref"], d.ticket["status"], created=True)
    for i, key in copies.items():
        first = outcomes[firsts[key]] if key in firsts else None
        outcomes[i] = _as_copy(first) if first is not None else (await _delivered(conn, [key])).get(key)
    return [
        o if o is not None else Unavailable("the ticket could not be opened; retry", retry_after=1) for o in outcomes
    ]


def _as_copy(first: Outcome) -> Outcome:
    if isinstance(first, Opened):
        return Opened(first.ticket_id, first.ref, first.status, created=False, outcome=first.outcome)
    return first


async def _delivered(conn: AsyncConnection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Opened]:
    """The tickets these deliveries made already (committed, or written by this transaction)."""
    if not keys:
        return {}
    query = (
        select(LEDGER.c.source, LEDGER.c.delivery_id, TICKET.c.id, TICKET.c.ref, TICKET.c.status, LEDGER.c.outcome)
        .join(TICKET, TICKET.c.id == LEDGER.c.ticket_id)
        .where(LEDGER.c.delivery_id.in_(sorted({k[1] for k in keys})))
    )
    wanted = set(keys)
    return {
        (source, delivery_id): Opened(ticket_id, ref, status, created=False, outcome=outcome)
        for source, delivery_id, ticket_id, ref, status, outcome in (await conn.execute(query)).all()
        if (source, delivery_id) in wanted
    }


async def _allocate_ids(connection: AsyncConnection, n: int) -> list[int]:
    """Ticket ids before the insert, so every row of the batch can name its ticket in the same round trip.

    PostgreSQL: from the ticket id sequence. SQLite: after the largest id, under the write lock that
    ``BEGIN IMMEDIATE`` took at the transaction's first statement (one writer at a time).
    """
    if n == 0:
        return []
    if connection.dialect.name == "postgresql":
        rows = await connection.execute(
            text("SELECT nextval(pg_get_serial_sequence('ticket', 'id')) FROM generate_series(1, :n)"), {"n": n}
        )
        return sorted(int(r[0]) for r in rows)
    top = (await connection.execute(select(func.max(TICKET.c.id)))).scalar() or 0
    return list(range(top + 1, top + n + 1))


async def _ledger(conn: AsyncConnection, drafts: list[Draft], now: datetime) -> list[Draft]:
    """Write the ledger rows; return the drafts whose delivery a concurrent transaction committed first.

    Rows go in key order, so two batches with overlapping deliveries take their locks in one order.
    """
    lost = await _inbound_ledger(conn, [d for d in drafts if d.item.inbound is not None], now)
    keyed = sorted((d for d in drafts if d.item.key is not None), key=lambda d: d.item.key or ("", ""))
    if not keyed:
        return lost
    rows = [
        {
            "source": d.item.source,
            "delivery_id": d.item.delivery_id,
            "ticket_id": d.ticket["id"],
            "outcome": "created",
            "created_at": now,
        }
        for d in keyed
    ]
    upsert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = upsert(LEDGER).values(rows).on_conflict_do_nothing().returning(LEDGER.c.ticket_id)
    written = {row[0] for row in (await conn.execute(statement)).all()}
    return lost + [d for d in keyed if d.ticket["id"] not in written]


async def _inbound_ledger(conn: AsyncConnection, drafts: list[Draft], now: datetime) -> list[Draft]:
    """The emails' ``inbound_mail`` rows; those a concurrent transaction recorded first come back."""
    if not drafts:
        return []
    rows = []
    for d in sorted(drafts, key=lambda d: d.item.inbound.message_id if d.item.inbound else ""):
        mail = d.item.inbound
        assert mail is not None
        rows.append(
            {
                "message_id": mail.message_id,
                "source": d.item.source,
                "sender": mail.sender,
                "subject": mail.subject[:500],
                "outcome": "created",
                "reason": None,
                "ticket_id": d.ticket["id"],
                "raw_sha256": mail.raw_sha256,
                "size": mail.size,
                "received_at": now,
            }
        )
    upsert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = upsert(INBOUND).values(rows).on_conflict_do_nothing().returning(INBOUND.c.ticket_id)
    written = {row[0] for row in (await conn.execute(statement)).all()}
    return [d for d in drafts if d.ticket["id"] not in written]


async def _write(conn: AsyncConnection, drafts: list[Draft]) -> None:
    """Everything but the ticket and ledger rows (already in), one statement per table; then the facts."""
    with_files = [d for d in drafts if d.item.mail.attachments]
    plain = [d for d in drafts if not d.item.mail.attachments]
    if plain:
        await conn.execute(insert(MESSAGE), [d.message for d in plain])
    if with_files:  # the attachment rows name their message: ids back, in order
        statement = insert(MESSAGE).returning(MESSAGE.c.id, sort_by_parameter_order=True)
        message_ids = (await conn.execute(statement, [d.message for d in with_files])).scalars().all()
        files = [
            {"message_id": message_id, "filename": a.filename[:255], "content_type": a.content_type[:255],
             "size": a.size, "sha256": a.sha256, "inline": a.inline, "content_id": a.content_id}
            for d, message_id in zip(with_files, message_ids, strict=True)
            for a in d.item.mail.attachments
        ]  # fmt: skip
        await conn.execute(insert(ATTACHMENT), files)
    await conn.execute(insert(AUDIT), [row for d in drafts for row in d.audit])
    clocks = [row for d in drafts for row in d.clocks]
    if clocks:
        await conn.execute(insert(CLOCK), clocks)
    await conn.execute(insert(OUTBOX), [{**row, "published_at": None} for d in drafts for row in d.outbox])
    if facts.installed():  # as the session hooks would have, for rows they never saw
        ids = [d.ticket["id"] for d in drafts]
        await conn.run_sync(facts.refresh, ids)


def _after_commit(session: AsyncSession, drafts: list[Draft]) -> None:
    """Queue entries, timers, outbox fan-out; one automation job per tier for the batch; route jobs for
    tickets the rulebook could not route."""
    by_tier: dict[int, list[int]] = {}
    for d in drafts:
        t = d.ticket
        for row in d.outbox:
            after_commit(session, PublishEvent(row["id"], row["type"]))
        if not d.routed:
            after_commit(session, route_job(t["id"]))
            continue
        TICKETS_ROUTED.labels(str(t["support_tier"])).inc()
        score = queue_score(t["priority"], t["customer_tier"], t["created_at"])
        after_commit(session, PlaceInQueue(t["support_tier"], t["id"], score, created_ms(t["created_at"])))
        for timer in d.timers:
            after_commit(session, timer)
        by_tier.setdefault(t["support_tier"], []).append(t["id"])
    for tier, ids in by_tier.items():
        after_commit(session, automation_batch_job(tier, ids))
