"""Rebuild every Redis structure from the database: tier queues, routing and tier automation jobs, SLA timers.

Run by ``tierroute reconcile`` and by every worker process at start, and again by a worker as soon as the
generation key is gone (Redis wiped: ``queues.worker.keep_redis_in_step``); the periodic ``sweep`` does the
cheap part (jobs for tickets that waited too long) every minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from arq.connections import ArqRedis
from redis.asyncio import Redis

from queues.dispatch import enqueue
from queues.lease import leased
from queues.names import GENERATION, RECONCILE_LOCK, tier_queue_key
from queues.sla_timers import schedule
from queues.tier_queue import RedisTierQueue
from router.context import AppContext
from router.effects import automation_job, deliver_job, mail_job, publish_job, route_job
from router.events.service import EVENT_TYPES
from router.models.columns import utcnow
from router.notifications import queries as notification_queries
from router.notifications import service as notifications
from router.sla.queries import overdue_timers, pending_timers
from router.tickets import queries
from router.tierqueues.ordering import created_ms, queue_score
from router.webhooks import queries as webhook_queries
from rules.vocabulary import SUPPORT_TIERS

log = structlog.get_logger(__name__)


@dataclass
class ReconcileReport:
    queued: dict[int, int] = field(default_factory=dict)
    routing_enqueued: int = 0
    automation_enqueued: int = 0
    sla_timers: int = 0


#: How long ``tierroute reconcile`` waits for another live process's rebuild (a dead one's lease lapses
#: within ``queues.lease.LEASE_SECONDS``).
LOCK_WAIT_SECONDS = 120.0


async def wiped(redis: Redis) -> bool:
    """True when Redis no longer holds the generation key written by the last rebuild: its data is gone
    (or was never built). One ``EXISTS``, cheap enough to ask every second."""
    return not await redis.exists(GENERATION)


async def rebuild_tier_queues(
    app: AppContext, queue: RedisTierQueue, *, lock_wait: float | None = LOCK_WAIT_SECONDS
) -> dict[int, int]:
    """Swap in each tier's exact contents; one process at a time (a leased Redis lock across processes).

    The generation key is written first, so a wipe during the rebuild removes it again and is noticed;
    a rebuild that fails takes it away, so the next check tries again."""
    async with leased(queue.redis, RECONCILE_LOCK, wait=lock_wait):
        await queue.redis.set(GENERATION, utcnow().isoformat())
        try:
            return await _rebuild(app, queue)
        except BaseException:
            await _forget_generation(queue.redis)
            raise


async def _forget_generation(redis: Redis) -> None:
    try:
        await redis.delete(GENERATION)
    except Exception as exc:  # Redis itself is down: it has nothing to forget then, or loses it on restart
        log.warning("generation_not_cleared", error=repr(exc))


async def repair_tier_queues(app: AppContext, queue: RedisTierQueue) -> tuple[int, int]:
    """Cheaper than a rebuild, safe while claims run: add queued tickets missing from Redis, drop entries
    whose ticket is no longer queued in that tier (re-checked, so a ticket queued meanwhile stays)."""
    added = removed = 0
    for tier in SUPPORT_TIERS:
        async with app.sessionmaker() as session:
            rows = {tid: (p, c, t) for tid, p, c, t in await queries.queued_in_tier(session, tier)}
        members = {int(m) for m in await queue.redis.zrange(tier_queue_key(tier), 0, -1)}
        for tid in rows.keys() - members:
            p, c, t = rows[tid]
            await queue.push(tier, tid, queue_score(p, c, t), created_ms(t))
            added += 1
        extra = members - rows.keys()
        if extra:
            async with app.sessionmaker() as session:
                still = {tid for tid, *_ in await queries.queued_in_tier(session, tier) if tid in extra}
            for tid in extra - still:
                await queue.remove(tier, tid)
                removed += 1
    if added or removed:
        log.warning("tier_queues_repaired", added=added, removed=removed)
    return added, removed


async def _rebuild(app: AppContext, queue: RedisTierQueue) -> dict[int, int]:
    counts: dict[int, int] = {}
    for tier in SUPPORT_TIERS:
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
    webhooks = await enqueue_webhook_jobs(app, pool, created_before=cutoff)
    if webhooks:
        log.info("webhook_jobs_enqueued", count=webhooks)
    notices = await enqueue_notification_mails(app, pool, created_before=cutoff)
    if notices:
        log.info("notification_mail_jobs_enqueued", count=notices)
    return routed, automated


async def enqueue_notification_mails(app: AppContext, pool: ArqRedis, *, created_before: datetime | None) -> int:
    """Mail jobs of notifications whose mail is still pending (lost with Redis, or a crash before the enqueue)."""
    if not app.settings.smtp_url:
        return 0
    async with app.sessionmaker() as session:
        pending = await notification_queries.pending_mails(session, created_before=created_before)
    return sum([await enqueue(pool, notifications.notification_mail_job(nid)) for nid in pending])


async def enqueue_webhook_jobs(app: AppContext, pool: ArqRedis, *, created_before: datetime | None) -> int:
    """Publish jobs for outbox events someone wants that were never fanned out, and delivery jobs for
    pending deliveries (deferred to their next attempt time)."""
    wanted = [t for t in EVENT_TYPES if app.webhooks.wants(t)]
    async with app.sessionmaker() as session:
        events = await webhook_queries.unpublished_events(session, wanted, created_before=created_before)
        pending = await webhook_queries.pending_deliveries(session)
    count = sum([await enqueue(pool, publish_job(eid)) for eid in events])
    for delivery_id, next_at in pending:
        if (
            created_before is not None
            and next_at is not None
            and next_at > created_before + timedelta(seconds=app.settings.sweep_grace_seconds)
        ):
            continue  # a retry that is simply not due yet
        count += await enqueue(pool, deliver_job(delivery_id), defer_until=next_at)
    return count


async def rebuild_sla_timers(app: AppContext, pool: ArqRedis, *, page: int = 10_000) -> int:
    """Put every pending SLA timer back (ZADD: present ones just keep their score), a page of clocks at a time.

    Additive on purpose, so it is safe while clocks change: a timer of an older generation left behind
    fires once and finds its clock moved on.
    """
    after, total = 0, 0
    while True:
        async with app.sessionmaker() as session:
            rows = await pending_timers(session, after_id=after, limit=page)
        if not rows:
            return total
        total += await schedule(pool, ((member, int(at.timestamp() * 1000)) for _id, member, at in rows))
        after = rows[-1][0]


async def reschedule_overdue_timers(app: AppContext, pool: ArqRedis, *, grace_seconds: float) -> int:
    """Timers overdue by more than the grace period go back in the set (the ticker fires them at once);
    a timer still pending only gets the same score again, and a repeat is a no-op for the job."""
    async with app.sessionmaker() as session:
        rows = await overdue_timers(session, before=utcnow() - timedelta(seconds=grace_seconds))
    count = await schedule(pool, ((member, int(at.timestamp() * 1000)) for member, at in rows))
    if count:
        log.warning("sla_timers_rescheduled", count=count)
    return count


async def catch_up(app: AppContext, pool: ArqRedis) -> None:
    """Make good the effects a process lost to a Redis outage, from the database: tier queues repaired, missing
    jobs enqueued, SLA timers put back; all of it safe while workers run (no lock, no swap)."""
    added, removed = await repair_tier_queues(app, RedisTierQueue(pool))
    routed, automated = await enqueue_missing_jobs(app, pool)
    timers = await rebuild_sla_timers(app, pool)
    log.info(
        "effects_reconciled",
        queue_added=added,
        queue_removed=removed,
        routing_enqueued=routed,
        automation_enqueued=automated,
        sla_timers=timers,
    )


async def reconcile(app: AppContext, pool: ArqRedis, *, lock_wait: float | None = LOCK_WAIT_SECONDS) -> ReconcileReport:
    """Tier queues first (agents claim from them), then the jobs and SLA timers. ``LeaseBusy`` when another
    process keeps rebuilding for longer than ``lock_wait`` seconds."""
    report = ReconcileReport()
    report.queued = await rebuild_tier_queues(app, RedisTierQueue(pool), lock_wait=lock_wait)
    report.routing_enqueued, report.automation_enqueued = await enqueue_missing_jobs(app, pool)
    report.sla_timers = await rebuild_sla_timers(app, pool)
    log.info(
        "reconciled",
        queued=report.queued,
        routing_enqueued=report.routing_enqueued,
        automation_enqueued=report.automation_enqueued,
        sla_timers=report.sla_timers,
    )
    return report
