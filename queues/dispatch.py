"""Apply a committed transaction's effects: tier queue moves in one MULTI, then arq jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from queues.credentials import move_credentials_epoch
from queues.names import SLA_TIMERS, arq_queue_for, live_channel, redis_db, tier_age_key, tier_queue_key
from router.effects import (
    MAIL,
    CancelTimer,
    CredentialsChanged,
    Effect,
    EnqueueJob,
    PlaceInQueue,
    PublishEvent,
    PublishLive,
    RemoveFromQueue,
    ScheduleTimer,
    WakeAssigner,
    assign_job,
    publish_job,
)


class RedisEffectSink:
    """Implements ``router.effects.EffectSink``."""

    def __init__(
        self,
        pool: ArqRedis,
        *,
        mail_enabled: Callable[[], bool] = lambda: True,
        event_wanted: Callable[[str], bool] = lambda _type: False,
        reconnect: Callable[[], Awaitable[bool]] | None = None,
        push_tiers: Callable[[], frozenset[int]] = frozenset,
    ) -> None:
        self.pool = pool
        #: Points the pool at the Redis serving now (``queues.connection.reconnect``); False: none is there.
        self.reconnect = reconnect
        #: Effects were lost to an outage since the last catch-up (``queues.reconcile.catch_up`` repairs).
        self.behind = False
        #: Events nobody subscribes to stay in the outbox as a record; no job is queued for them.
        self.event_wanted = event_wanted
        #: Without an outbound SMTP server mail jobs would only find nothing to do: they are not queued
        #: (the messages stay pending, and reconcile queues them once a server is configured).
        self.mail_enabled = mail_enabled
        #: The tiers whose assignment pushes (``rules/assignment.yaml``): only they get assigner jobs.
        self.push_tiers = push_tiers

    async def apply(self, effects: Sequence[Effect]) -> None:
        """Apply; on a lost connection (Redis restarted, or the embedded one moved to a new socket) connect
        afresh and apply once more: the moves are one MULTI and the jobs have ids, so a repeat is harmless.
        Raises when Redis is still unreachable, after marking the sink ``behind``."""
        try:
            await self._apply(effects)
        except (RedisError, OSError):
            if self.reconnect is not None and await self.reconnect():
                try:
                    await self._apply(effects)
                    return
                except (RedisError, OSError):
                    pass
            self.behind = True
            raise

    async def _wake_assigners(self, effects: Sequence[Effect]) -> None:
        """A ticket entering a pushing tier's queue, or capacity freed there, wakes that tier's assigner.

        The assigner's job id is fixed, so the enqueue is refused while it is queued (it will see the ticket)
        or running, and a run may be past its last look at the queue: the ticket would wait for the sweep
        (10 s). A refused wake takes the job's second slot instead, a run that starts after the wake's
        changes are in place. Refused there too, the second run is queued (it will see the ticket) or both
        are running; that rarest case waits for the sweep. Two runs of one tier may overlap: their
        candidates' row locks keep caps and offers right (``router.assignment.assigner``)."""
        woken = {e.tier for e in effects if isinstance(e, PlaceInQueue | WakeAssigner)}
        if not woken:
            return
        for tier in sorted(woken & self.push_tiers()):
            if not await enqueue(self.pool, assign_job(tier)):
                await enqueue(self.pool, assign_job(tier, again=True))

    async def _apply(self, effects: Sequence[Effect]) -> None:
        if any(isinstance(e, CredentialsChanged) for e in effects):
            # First: the rest may fail, and a change of access must reach every process's token cache.
            await move_credentials_epoch(self.pool)
        moves = [e for e in effects if isinstance(e, PlaceInQueue | RemoveFromQueue | ScheduleTimer | CancelTimer)]
        if moves:
            async with self.pool.pipeline(transaction=True) as pipe:
                for move in moves:
                    if isinstance(move, ScheduleTimer | CancelTimer):
                        _timer(pipe, move)
                        continue
                    member = str(move.ticket_id)
                    if isinstance(move, PlaceInQueue):
                        pipe.zadd(tier_queue_key(move.tier), {member: move.score})
                        pipe.zadd(tier_age_key(move.tier), {member: move.created_ms})
                    else:
                        pipe.zrem(tier_queue_key(move.tier), member)
                        pipe.zrem(tier_age_key(move.tier), member)
                await pipe.execute()
        for effect in effects:
            if isinstance(effect, EnqueueJob) and (effect.queue != MAIL or self.mail_enabled()):
                await enqueue(self.pool, effect)
            elif isinstance(effect, PublishEvent) and self.event_wanted(effect.event_type):
                await enqueue(self.pool, publish_job(effect.event_id))
        await self._wake_assigners(effects)
        live = [e for e in effects if isinstance(e, PublishLive)]
        if live:  # last: the pages that refresh on these must find the jobs and queue moves in place
            async with self.pool.pipeline(transaction=False) as pipe:
                for message in live:
                    pipe.publish(live_channel(redis_db(self.pool), message.topic), message.message)
                await pipe.execute()


def _timer(pipe: Any, effect: ScheduleTimer | CancelTimer) -> None:
    """SLA timers: one ZADD or ZREM on the timer set, O(log n)."""
    if isinstance(effect, ScheduleTimer):
        pipe.zadd(SLA_TIMERS, {effect.member: effect.at_ms})
    else:
        pipe.zrem(SLA_TIMERS, effect.member)


async def enqueue(pool: ArqRedis, job: EnqueueJob, *, defer_until: datetime | None = None) -> bool:
    """Enqueue with the job's deterministic id (deferred to ``defer_until`` or the job's own); False when that
    job is already queued or running."""
    result = await pool.enqueue_job(
        job.function,
        *job.args,
        _job_id=job.job_id,
        _queue_name=arq_queue_for(job.queue),
        _defer_until=defer_until or job.defer_until,
    )
    return result is not None
