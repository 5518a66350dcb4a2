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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit.service import Entry, chain_rows
from router.customers import service as customers
from router.effects import PlaceInQueue, PublishEvent, after_commit, automation_batch_job, route_job
from router.errors import DomainError, Unavailable
from router.events.service import new_event_id
from router.metrics import TICKETS_ROUTED
from router.models import metadata
from router.models.columns import utcnow
from router.models.customers import Customer
from router.models.tickets import OPEN_STATUSES, Direction, Status, ticket_ref
from router.reports import facts
from router.sla import service as sla
from router.sla.policies import policies_of
from router.tickets.inputs import MailDetails, TicketContext
from router.tierqueues.ordering import created_ms, queue_score
from rules import AttachmentInfo, Decision, Rulebook, Snapshot
from rules.vocabulary import VENDOR_TIER

log = structlog.get_logger(__name__)

TICKET = metadata.tables["ticket"]
MESSAGE = metadata.tables["message"]
AUDIT = metadata.tables["audit_event"]
CLOCK = metadata.tables["sla_clock"]
OUTBOX = metadata.tables["outbox_event"]
LEDGER = metadata.tables["delivery"]
INBOUND = metadata.tables["inbound_mail"]
ATTACHMENT = metadata.tables["attachment"]


@dataclass(frozen=True)
class InboundRecord:
    """An email that opens a ticket: its ledger row (``inbound_mail``, unique by Message-ID), what threading
    looks up, and the sender's rate limit. A mail that turns out to answer a ticket, a Message-ID seen
    before, or a sender over the limit comes back ``Deferred``: the one-at-a-time path records those."""

    message_id: str
    sender: str
    subject: str
    raw_sha256: str
    size: int
    #: In-Reply-To, References and a report's original ids: any of them on a stored message threads it.
    thread_ids: tuple[str, ...]
    #: At most ``rate_limit`` new tickets per sender in ``rate_window_seconds``.
    rate_limit: int
    rate_window_seconds: int


@dataclass(frozen=True)
class NewTicket:
    """What intake knows of a ticket to open (JSON intake and signed webhooks hand in the same shape)."""

    source: str
    delivery_id: str | None
    subject: str
    body: str
    requester_email: str
    customer_ref: str | None
    priority_hint: str | None
    channel: str
    actor: str
    default_customer_tier: int
    context: TicketContext = field(default_factory=TicketContext)
    #: The sender's own id for the ticket, stored on it; the delivery id when not given.
    external_id: str | None = None
    #: Signed webhooks: a ticket still open with the same ``external_id`` from the same source takes the
    #: delivery as a comment instead (a repeated alert), which the one-at-a-time path does (``Deferred``).
    merge_open: bool = False
    #: Email: the message's HTML, ids and stored files, and its ``inbound_mail`` ledger row.
    mail: MailDetails = field(default_factory=MailDetails)
    inbound: InboundRecord | None = None

    @property
    def key(self) -> tuple[str, str] | None:
        return (self.source, self.delivery_id) if self.delivery_id is not None else None

    @property
    def ticket_external_id(self) -> str | None:
        return self.external_id if self.external_id is not None else self.delivery_id


@dataclass(frozen=True)
class Opened:
    ticket_id: int
    ref: str
    status: str
    #: False when the delivery had made this ticket already (a redelivery, or a copy in the same batch).
    created: bool
    #: What the delivery did, as its ledger row says: ``created``, or for a redelivery what the first copy
    #: did (a webhook delivery may have commented on an open ticket).
    outcome: str = "created"


@dataclass(frozen=True)
class Deferred:
    """Not a new ticket after all (``NewTicket.merge_open``): the caller runs the delivery the one-at-a-time
    way, in a transaction of its own, after this batch committed."""


Outcome = Opened | Deferred | DomainError


@dataclass
class _Draft:
    """One ticket being built: its rows, and what to do after the commit."""

    index: int
    item: NewTicket
    ticket: dict[str, Any]
    message: dict[str, Any]
    audit: list[dict[str, Any]]
    clocks: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    timers: list[Any]
    routed: bool


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
    await _defer_merges(conn, items, outcomes, copies)
    await _defer_mail(conn, items, outcomes, now=utcnow())
    todo = [i for i, o in enumerate(outcomes) if o is None and i not in copies]
    found = await customers.find_for_requesters(
        session, [(items[i].requester_email, items[i].customer_ref) for i in todo]
    )
    now = utcnow()
    ids = await _allocate_ids(conn, len(todo))
    drafts: list[_Draft] = []
    for i, customer, ticket_id in zip(todo, found, ids, strict=True):
        if isinstance(customer, DomainError):
            outcomes[i] = customer
            continue
        drafts.append(_draft(session, i, items[i], customer, ticket_id, now, rulebook))
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


async def _defer_merges(
    conn: AsyncConnection, items: Sequence[NewTicket], outcomes: list[Outcome | None], copies: dict[int, Any]
) -> None:
    """Mark ``Deferred`` the ``merge_open`` items whose external id has an open ticket, or an earlier item of
    this batch. On PostgreSQL the external ids are locked first (as ``router.webhooks.intake`` locks one),
    so a concurrent transaction cannot open the same one meanwhile."""
    merging = {
        i: (item.source, item.ticket_external_id)
        for i, item in enumerate(items)
        if item.merge_open and item.ticket_external_id is not None and outcomes[i] is None and i not in copies
    }
    if not merging:
        return
    keys = sorted({f"{source}|{external_id}" for source, external_id in merging.values()})
    if conn.dialect.name == "postgresql":
        await conn.execute(
            text(
                "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))"
                " FROM (SELECT unnest(CAST(:keys AS text[])) AS k ORDER BY 1) AS ordered"
            ),
            {"keys": keys},
        )
    query = select(TICKET.c.source, TICKET.c.external_id).where(
        TICKET.c.external_id.in_(sorted({e for _, e in merging.values()})),
        TICKET.c.status.in_([str(s) for s in OPEN_STATUSES]),
    )
    taken = {(source, external_id) for source, external_id in (await conn.execute(query)).all()}
    for i, key in sorted(merging.items()):
        if key in taken:
            outcomes[i] = Deferred()
        taken.add(key)


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


async def _defer_mail(
    conn: AsyncConnection, items: Sequence[NewTicket], outcomes: list[Outcome | None], now: datetime
) -> None:
    """Mark ``Deferred`` the emails that are not plain new tickets: a Message-ID seen before (or earlier in
    this batch), a reply to a stored message, a sender over the rate limit."""
    mails = {i: item.inbound for i, item in enumerate(items) if item.inbound is not None and outcomes[i] is None}
    if not mails:
        return
    message_ids = sorted({m.message_id for m in mails.values()})
    seen = set(
        (await conn.execute(select(INBOUND.c.message_id).where(INBOUND.c.message_id.in_(message_ids)))).scalars()
    )
    thread_ids = sorted({t for m in mails.values() for t in m.thread_ids})
    threaded: set[str] = set()
    if thread_ids:
        answered = select(MESSAGE.c.message_id_header).where(MESSAGE.c.message_id_header.in_(thread_ids))
        threaded = set((await conn.execute(answered.distinct())).scalars())
    window = max(m.rate_window_seconds for m in mails.values())
    counts: dict[str, int] = dict(
        (
            await conn.execute(
                select(INBOUND.c.sender, func.count())
                .where(
                    INBOUND.c.sender.in_(sorted({m.sender for m in mails.values()})),
                    INBOUND.c.received_at >= now - timedelta(seconds=window),
                    INBOUND.c.outcome == "created",
                )
                .group_by(INBOUND.c.sender)
            )
        ).all()
    )
    for i, mail in sorted(mails.items()):
        sent = int(counts.get(mail.sender, 0))
        if mail.message_id in seen or threaded.intersection(mail.thread_ids) or sent >= mail.rate_limit:
            outcomes[i] = Deferred()
            continue
        seen.add(mail.message_id)
        counts[mail.sender] = sent + 1


def _snapshot(item: NewTicket, customer: Customer | None, customer_tier: int, now: datetime) -> Snapshot:
    """What the rules see of a ticket just opened (``routing.snapshots`` reads the same from the database)."""
    c = item.context
    return Snapshot(
        subject=item.subject[:500],
        body=item.body,
        sender=item.requester_email,
        customer_tier=customer_tier,
        channel=item.channel,
        source=item.source,
        recipient=c.recipient,
        priority_hint=item.priority_hint,
        customer_ref=customer.external_ref if customer else None,
        attributes=customer.attributes if customer else {},
        product=c.product,
        component=c.component,
        service=c.service,
        tags=tuple(c.tags),
        attachments=tuple(AttachmentInfo(a.filename, a.content_type) for a in item.mail.attachments),
        message_count=1,
        reopen_count=0,
        received_at=now,
    )


def _draft(
    session: AsyncSession,
    index: int,
    item: NewTicket,
    customer: Customer | None,
    ticket_id: int,
    now: datetime,
    rulebook: Rulebook,
) -> _Draft:
    customer_tier = customer.value_tier if customer else item.default_customer_tier
    c = item.context
    ticket: dict[str, Any] = {
        "id": ticket_id,
        "ref": ticket_ref(ticket_id),
        "subject": item.subject[:500],
        "status": Status.new,
        "support_tier": None,
        "priority": item.priority_hint or "normal",
        "priority_hint": item.priority_hint,
        "requester_email": item.requester_email[:320],
        "customer_id": customer.id if customer else None,
        "customer_tier": customer_tier,
        "assignee_id": None,
        "channel": item.channel,
        "source": item.source,
        "external_id": item.ticket_external_id,
        "recipient": c.recipient,
        "product": c.product,
        "component": c.component,
        "service": c.service,
        "tags": list(c.tags),
        "severity": None,
        "sla_policy": None,
        "queue_group": None,
        "escalation_count": 0,
        "reopen_count": 0,
        "decision": None,
        "rulebook_version": None,
        "auto_reply_suppressed": c.auto_reply_suppressed,
        "automation_tier": None,
        "created_at": now,
        "updated_at": now,
        "queued_at": None,
        "resolved_at": None,
    }
    origin = {"channel": item.channel, "source": item.source, "external_id": item.ticket_external_id}
    entries = [Entry(item.actor, "created", {**origin, "customer_tier": customer_tier})]
    outbox = [_event(ticket_id, "ticket.created", origin, now)]
    clocks: list[dict[str, Any]] = []
    timers: list[Any] = []
    try:
        decision = rulebook.evaluate(_snapshot(item, customer, customer_tier, now))
    except Exception:  # never refuse a ticket over the rulebook: the route job tries again after the commit
        log.exception("routing_at_intake_failed", ticket_id=ticket_id)
        decision = None
    if decision is not None:
        clocks, timers = _route(session, ticket, decision, entries, outbox, now)
    audit = chain_rows(ticket_id, entries, now)
    ticket["audit_seq"], ticket["audit_head"] = audit[-1]["seq"], audit[-1]["hash"]
    message = {
        "ticket_id": ticket_id,
        "direction": Direction.inbound,
        "kind": "message",
        "author": item.requester_email,
        "body_text": item.body,
        "body_html": item.mail.html,
        "delivery_status": None,
        "delivery_error": None,
        "message_id_header": item.mail.message_id_header,
        "raw_sha256": item.mail.raw_sha256,
        "created_at": now,
    }
    return _Draft(index, item, ticket, message, audit, clocks, outbox, timers, decision is not None)


def _route(
    session: AsyncSession,
    ticket: dict[str, Any],
    decision: Decision,
    entries: list[Entry],
    outbox: list[dict[str, Any]],
    now: datetime,
) -> tuple[list[dict[str, Any]], list[Any]]:
    """``service.apply_routing`` on a row: the decision stored, the ticket queued in its tier, clocks started."""
    tier = decision.support_tier
    ticket.update(
        priority=decision.priority,
        severity=decision.severity,
        sla_policy=decision.sla_policy,
        queue_group=decision.queue_group,
        tags=[*ticket["tags"], *(t for t in decision.tags if t not in ticket["tags"])],
        decision=decision.to_dict(),
        rulebook_version=decision.rulebook_version,
        support_tier=tier,
        status=Status.queued,
        queued_at=now,
        automation_tier=tier,
    )
    if tier == VENDOR_TIER:
        outbox.append(_event(ticket["id"], "ticket.vendor_handoff", {"vendor": decision.vendor}, now))
    policies = policies_of(session)
    policy = policies.select(
        pinned=decision.sla_policy, support_tier=tier, customer_tier=ticket["customer_tier"], priority=decision.priority
    )
    clocks, changes, timers = sla.opening_clocks(
        policies, policy, ticket_id=ticket["id"], support_tier=tier, status=ticket["status"], now=now
    )
    rule_ids = [m.rule_id for m in decision.matched]
    data: dict[str, Any] = {
        "priority": decision.priority,
        "rules": rule_ids,
        "rulebook_version": decision.rulebook_version,
    }
    if changes:
        data["sla"] = changes
    actor = f"rule:{rule_ids[0]}"[:100] if rule_ids else "rule:defaults"
    entries.append(Entry(actor, "routed", data, to_tier=tier))
    outbox.append(_event(ticket["id"], "ticket.routed", {"support_tier": tier, "rules": rule_ids}, now))
    return clocks, timers


def _event(ticket_id: int, event_type: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"id": new_event_id(), "type": event_type, "ticket_id": ticket_id, "data": data, "created_at": now}


async def _ledger(conn: AsyncConnection, drafts: list[_Draft], now: datetime) -> list[_Draft]:
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


async def _inbound_ledger(conn: AsyncConnection, drafts: list[_Draft], now: datetime) -> list[_Draft]:
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


async def _write(conn: AsyncConnection, drafts: list[_Draft]) -> None:
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


def _after_commit(session: AsyncSession, drafts: list[_Draft]) -> None:
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
