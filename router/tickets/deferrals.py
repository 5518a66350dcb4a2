"""Which items of an intake batch are not plain new tickets after all: they come back ``Deferred`` and their
caller runs them the one-at-a-time way (a repeated alert on an open ticket, a reply by email, a repeat,
a sender over the rate limit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from router.models import metadata
from router.models.tickets import OPEN_STATUSES
from router.tickets.inputs import Deferred, NewTicket, Outcome

TICKET = metadata.tables["ticket"]
MESSAGE = metadata.tables["message"]
INBOUND = metadata.tables["inbound_mail"]


async def defer_merges(
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


async def defer_mail(
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
