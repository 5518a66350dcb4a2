"""Rebuild every Redis structure from the database: tier queues, routing jobs, tier automation jobs.

Run by ``tierroute reconcile`` and by every worker process at start; the periodic ``sweep`` does the
cheap part (jobs for tickets that waited too long) every minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from arq.connections import ArqRedis

from queues.dispatch import enqueue
from queues.tier_queue import RedisTierQueue
from router.columns import utcnow
from router.context import AppContext
from router.effects import automation_job, mail_job, route_job
from router.tickets import queries
from router.tierqueues.ordering import created_ms, queue_score

log = structlog.get_logger(__name__)


@dataclass
class ReconcileReport:
    queued: dict[int, int] = field(default_factory=dict)
    routing_enqueued: int = 0
    automation_enqueued: int = 0


async def rebuild_tier_queues(app: AppContext, queue: RedisTierQueue) -> dict[int, int]:
    counts: dict[int, int] = {}
    for tier in range(5):
        started = utcnow()
        async with app.sessionmaker() as session:
            rows = await queries.queued_in_tier(session, tier)
        counts[tier] = await queue.replace(tier, ((tid, queue_score(p, c, t), created_ms(t)) for tid, p, c, t in rows))
        # Tickets queued while we rebuilt were pushed to the old set, which the swap threw away: re-add them.
        async with app.sessionmaker() as session:
            late = await queries.queued_in_tier(session, tier, queued_since=started - timedelta(seconds=1))
        for tid, p, c, t in late:
            await queue.push(tier, tid, queue_score(p, c, t), created_ms(t))
    return counts


async def enqueue_missing_jobs(app: AppContext, pool: ArqRedis, *, grace_seconds: float = 0) -> tuple[int, int]:
    """Routing jobs for ``new`` tickets, automation jobs not yet run, mail not yet sent; ids make repeats
    no-ops. Returns (routing, automation) counts; mail jobs are logged."""
    cutoff = utcnow() - timedelta(seconds=grace_seconds) if grace_seconds else None
    async with app.sessionmaker() as session:
        unrouted = await queries.unrouted(session, created_before=cutoff)
        pending = await queries.automation_pending(session, updated_before=cutoff)
        outbound = await queries.pending_outbound(session, created_before=cutoff) if app.settings.smtp_url else []
    routed = sum([await enqueue(pool, route_job(tid)) for tid in unrouted])
    automated = sum([await enqueue(pool, automation_job(tid, tier)) for tid, tier in pending])
    mails = sum([await enqueue(pool, mail_job(mid)) for mid in outbound])
    if mails:
        log.info("mail_jobs_enqueued", count=mails)
    return routed, automated


async def reconcile(app: AppContext, pool: ArqRedis) -> ReconcileReport:
    report = ReconcileReport()
    report.queued = await rebuild_tier_queues(app, RedisTierQueue(pool))
    report.routing_enqueued, report.automation_enqueued = await enqueue_missing_jobs(app, pool)
    log.info(
        "reconciled",
        queued=report.queued,
        routing_enqueued=report.routing_enqueued,
        automation_enqueued=report.automation_enqueued,
    )
    return report
