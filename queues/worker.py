"""arq workers: the routing queue and one queue per support tier, run in one process, supervised.

arq's worker can stop for good after a Redis connection drop, so each worker runs in a loop that starts
a fresh one after a failure (with backoff) until the process is asked to stop. Beside them one task keeps
Redis in step with the database: reconcile at start, and again at once after a wipe (the generation key).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

import structlog
from arq.cron import CronJob
from arq.worker import Function, Worker

from queues.connection import redis_settings
from queues.job_table import TIERS, jobs_on
from queues.lease import LeaseBusy
from queues.names import ARQ_QUEUES, tier_arq_queue
from queues.reconcile import rebuild_tier_queues, reconcile, wiped
from queues.runtime import Runtime
from queues.serialization import deserialize, serialize
from queues.sla_timers import run_ticker
from queues.tier_queue import RedisTierQueue
from router.db import is_sqlite
from router.settings import Settings
from rules.vocabulary import SUPPORT_TIERS

log = structlog.get_logger(__name__)
T = TypeVar("T")
SQLITE_MAX_JOBS = 8
#: How often a worker asks whether Redis was wiped (one ``EXISTS``).
WIPE_CHECK_SECONDS = 1.0
#: How long one attempt waits for another process's rebuild before the next check tries again.
KEEPER_LOCK_WAIT_SECONDS = 1.0


def job_concurrency(settings: Settings) -> int:
    """SQLite takes one writer at a time: more concurrent jobs only queue on its lock (and time out)."""
    if is_sqlite(settings.effective_database_url):
        return min(settings.worker_max_jobs, SQLITE_MAX_JOBS)
    return settings.worker_max_jobs


def queue_of(queue_name: str) -> str:
    """The job table's queue that an arq queue serves (any queue but the fixed ones is a tier's)."""
    return next((queue for queue, name in ARQ_QUEUES.items() if name == queue_name), TIERS)


def functions_for(queue_name: str, settings: Settings) -> list[Function]:
    return [job.arq_function(settings) for job in jobs_on(queue_of(queue_name), scheduled=False)]


def cron_jobs_for(queue_name: str, settings: Settings) -> list[CronJob] | None:
    crons = [job.arq_cron(settings) for job in jobs_on(queue_of(queue_name), scheduled=True)]
    return crons or None


def build_worker(runtime: Runtime, queue_name: str, *, burst: bool = False) -> Worker:
    settings = runtime.app.settings
    return Worker(
        functions=functions_for(queue_name, settings),
        cron_jobs=None if burst else cron_jobs_for(queue_name, settings),
        queue_name=queue_name,
        redis_settings=redis_settings(settings),
        job_serializer=serialize,
        job_deserializer=deserialize,
        ctx={"app": runtime.app},
        burst=burst,
        max_jobs=job_concurrency(settings),
        poll_delay=settings.worker_poll_delay,
        job_timeout=settings.route_job_timeout,
        keep_result=0,
        health_check_interval=settings.worker_health_check_interval,
        handle_signals=False,
    )


def queue_names(tiers: Iterable[int], routing: bool) -> list[str]:
    names = list(ARQ_QUEUES.values()) if routing else []
    return names + [tier_arq_queue(t) for t in sorted(set(tiers))]


async def supervise(runtime: Runtime, queue_name: str) -> None:
    """Run one queue's worker forever, restarting it after a crash or Redis outage."""
    delay = 1.0
    while True:
        worker = build_worker(runtime, queue_name)
        try:
            await worker.async_run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("worker_stopped", queue=queue_name, error=repr(exc), restart_in=delay)
        finally:
            await _close(worker)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)


async def keep_redis_in_step(runtime: Runtime, *, every: float = WIPE_CHECK_SECONDS) -> None:
    """Reconcile at start, and whenever the generation key is gone (FLUSHDB, a Redis restart without
    persistence) rebuild the tier queues at once, then reconcile the rest, until cancelled.

    Tasks of their own, not arq jobs: a rebuild after a wipe must not wait behind the routing backlog, nor
    behind a full reconcile (enqueueing thousands of jobs takes a while on a busy worker). The workers take
    jobs meanwhile; a step that cannot run yet (another process holds the lock, Redis is down) is tried
    again on the next tick."""
    needed = asyncio.Event()
    needed.set()
    await asyncio.gather(_reconcile_when_needed(runtime, needed, every), _watch_for_wipe(runtime, needed, every))


async def _reconcile_when_needed(runtime: Runtime, needed: asyncio.Event, retry_after: float) -> None:
    while True:
        await needed.wait()
        needed.clear()
        if not await _attempt(reconcile(runtime.app, runtime.pool, lock_wait=KEEPER_LOCK_WAIT_SECONDS)):
            needed.set()
            await asyncio.sleep(retry_after)


async def _watch_for_wipe(runtime: Runtime, needed: asyncio.Event, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        if await _attempt(wiped(runtime.pool)) is True:
            log.warning("redis_wiped_rebuilding")
            queue = RedisTierQueue(runtime.pool)
            await _attempt(rebuild_tier_queues(runtime.app, queue, lock_wait=KEEPER_LOCK_WAIT_SECONDS))
            needed.set()  # the jobs and SLA timers were wiped too


async def _attempt(step: Awaitable[T]) -> T | None:
    """The step's result, or None when it failed (logged; the caller tries again on its next tick)."""
    try:
        return await step
    except LeaseBusy:
        log.info("reconcile_deferred", reason="another process is rebuilding")
    except Exception as exc:
        log.warning("reconcile_failed", error=repr(exc))
    return None


async def _close(worker: Worker) -> None:
    try:
        await worker.close()
    except Exception as exc:  # closing after a lost connection may fail too
        log.debug("worker_close_failed", error=repr(exc))


async def run_workers(runtime: Runtime, tiers: Iterable[int], *, routing: bool = True) -> None:
    """Work the chosen queues (and, with routing, the SLA ticker) until cancelled, while Redis is
    reconciled from the database beside them (``keep_redis_in_step``)."""
    names = queue_names(tiers, routing)
    log.info("workers_started", queues=names)
    ticker = [run_ticker(runtime.pool, runtime.app.settings.sla_tick_seconds)] if routing else []
    await asyncio.gather(keep_redis_in_step(runtime), *(supervise(runtime, name) for name in names), *ticker)


async def drain(runtime: Runtime, tiers: Iterable[int] = SUPPORT_TIERS, *, routing: bool = True) -> dict[str, Any]:
    """Burst mode: run the chosen queues until all of them are empty (tests, demo, benchmarks)."""
    totals: dict[str, Any] = {}
    names = queue_names(tiers, routing)
    while True:
        ran = 0
        for name in names:
            worker = build_worker(runtime, name, burst=True)
            try:
                await worker.async_run()
                ran += worker.jobs_complete + worker.jobs_failed + worker.jobs_retried
                totals[name] = totals.get(name, 0) + worker.jobs_complete
                totals["failed"] = totals.get("failed", 0) + worker.jobs_failed
            finally:
                await _close(worker)
        pending = sum([await runtime.pool.zcard(n) for n in names])
        if ran == 0 and pending == 0:
            return totals
        if ran == 0:
            await asyncio.sleep(0.05)  # deferred retries are not due yet
