"""Dry run: replay stored tickets through a candidate rulebook and count what would change."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.tickets import Ticket
from router.routing.snapshots import snapshots_for
from rules import Rulebook


@dataclass(frozen=True)
class Difference:
    ticket_id: int
    ref: str
    created_at: datetime
    tier_before: int
    tier_after: int
    priority_before: str
    priority_after: str
    rules_after: tuple[str, ...]


@dataclass
class SimulationReport:
    candidate_version: str
    tickets: int = 0
    #: Tickets never routed (no stored decision) are not compared.
    skipped_unrouted: int = 0
    changed_tier: int = 0
    changed_priority: int = 0
    tier_moves: Counter[tuple[int, int]] = field(default_factory=Counter)
    differences: list[Difference] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.differences)


async def count_tickets(session: AsyncSession, since: datetime | None) -> int:
    query = select(func.count()).select_from(Ticket)
    if since is not None:
        query = query.where(col(Ticket.created_at) >= since)
    return int((await session.exec(query)).one())


async def simulate(
    session: AsyncSession,
    candidate: Rulebook,
    *,
    since: datetime | None = None,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> SimulationReport:
    """Compare the candidate's decision with the decision each ticket was routed by (not its current tier,
    which escalations may have moved)."""
    report = SimulationReport(candidate.version)
    last_id = 0
    while True:
        query = select(Ticket).where(col(Ticket.id) > last_id).order_by(col(Ticket.id)).limit(batch)
        if since is not None:
            query = query.where(col(Ticket.created_at) >= since)
        tickets = list((await session.exec(query)).all())
        if not tickets:
            return report
        snapshots = await snapshots_for(session, tickets)
        for ticket in tickets:
            assert ticket.id is not None
            report.tickets += 1
            stored = ticket.decision
            if not stored:
                report.skipped_unrouted += 1
                continue
            after = candidate.evaluate(snapshots[ticket.id])
            tier_before, priority_before = int(stored["support_tier"]), str(stored["priority"])
            tier_changed = after.support_tier != tier_before
            priority_changed = after.priority != priority_before
            report.changed_tier += tier_changed
            report.changed_priority += priority_changed
            if tier_changed:
                report.tier_moves[(tier_before, after.support_tier)] += 1
            if tier_changed or priority_changed:
                report.differences.append(
                    Difference(
                        ticket.id,
                        ticket.ref or "",
                        ticket.created_at,
                        tier_before,
                        after.support_tier,
                        priority_before,
                        after.priority,
                        tuple(m.rule_id for m in after.matched),
                    )
                )
        last_id = tickets[-1].id or last_id
        session.expunge_all()
        if progress is not None:
            progress(len(tickets))
