"""Group commit for intake: concurrent requests' new tickets are opened together, one transaction per batch.

A request hands its ticket to ``IntakeBatcher.open`` and waits. A writer takes everything that is waiting
(up to ``max_batch``), opens it in one transaction (``router.tickets.opening.open_batch``), commits,
applies the Redis effects (tier queues, timers, one automation job per tier), and only then answers each
request: a 202 still means committed and queued. Nothing waits for a timer: an idle system runs batches of
one at once, and under load a batch is whatever arrived while the previous one was committing, so the
batch size follows the load.

If a batch fails as a whole (a database error), each of its tickets is tried again alone, so one bad row
fails only its own request.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from router.effects import EffectSink
from router.errors import Unavailable
from router.metrics import INTAKE_BATCH
from router.routing.rulebook import RulebookProvider
from router.tickets.inputs import Deferred, NewTicket, Opened
from router.tickets.opening import open_batch
from router.unit_of_work import transaction

log = structlog.get_logger(__name__)

_Waiting = tuple[NewTicket, "asyncio.Future[Opened | Deferred]"]


class Context(Protocol):
    """What a batch needs of the application context (read afresh for every batch)."""

    sessionmaker: async_sessionmaker[AsyncSession]
    effects: EffectSink
    rulebook: RulebookProvider


class IntakeBatcher:
    """One per process (``AppContext.intake``); started on first use, in the event loop that uses it."""

    def __init__(self, context: Context, *, writers: int = 2, max_batch: int = 200) -> None:
        """
        :param writers: batches in flight at once (one on SQLite, where writers queue for one lock anyway;
            two on PostgreSQL, so one batch is built while the other waits for its commit).
        :param max_batch: the most tickets in one transaction.
        """
        self.context = context
        self.writers = writers
        self.max_batch = max_batch
        self._waiting: list[_Waiting] = []
        self._ready: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._in_flight = 0
        #: Batches run and tickets in them, for the metrics and the benchmarks.
        self.batches = 0
        self.tickets = 0

    async def open(self, item: NewTicket) -> Opened | Deferred:
        """Open ``item``'s ticket (or find the one its delivery made); returns once that is committed.
        ``Deferred``: the caller must run this delivery the one-at-a-time way (see ``NewTicket.merge_open``).

        :raises DomainError: what stopped this ticket (an unknown customer reference, ...).
        """
        self._start()
        assert self._ready is not None
        future: asyncio.Future[Opened | Deferred] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        self._ready.set()
        # The ticket is committed whether or not its request is still there to hear about it.
        return await asyncio.shield(future)

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop and self._tasks:
            return
        self._loop, self._ready, self._waiting, self._in_flight = loop, asyncio.Event(), [], 0
        self._tasks = [loop.create_task(self._write(), name=f"intake-writer-{n}") for n in range(self.writers)]

    async def _write(self) -> None:
        assert self._ready is not None
        while True:
            await self._ready.wait()
            if not self._waiting:
                self._ready.clear()
                continue
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            if not self._waiting:
                self._ready.clear()
            self._in_flight += 1
            try:
                await self._run(batch)
            except Exception as exc:  # never let a writer die: its waiters get the error
                log.exception("intake_batch_failed", tickets=len(batch))
                for _item, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            finally:
                self._in_flight -= 1

    async def _run(self, batch: list[_Waiting]) -> None:
        try:
            ctx = self.context
            async with transaction(ctx.sessionmaker, ctx.effects) as session:
                outcomes = await open_batch(session, [item for item, _ in batch], ctx.rulebook.current())
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0][1].done():
                    batch[0][1].set_exception(exc)
                return
            log.warning("intake_batch_split", tickets=len(batch), error=repr(exc))
            for waiting in batch:  # one bad row fails only its own request
                await self._run([waiting])
            return
        self.batches += 1
        self.tickets += len(batch)
        INTAKE_BATCH.observe(len(batch))
        for (_item, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, Opened | Deferred):
                future.set_result(outcome)
            else:
                future.set_exception(outcome)

    async def aclose(self, grace: float = 10.0) -> None:
        """Stop the writers at shutdown: once nothing waits and no batch is in flight, or after ``grace``
        seconds; requests still waiting then get a 503 (nothing of theirs was committed)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            deadline = loop.time() + grace
            while (self._waiting or self._in_flight) and loop.time() < deadline:  # noqa: ASYNC110 - shutdown only
                await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            if task.get_loop() is loop:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for _item, future in self._waiting:
            if not future.done():
                future.set_exception(Unavailable("the server is shutting down; retry", retry_after=1))
        self._tasks, self._waiting, self._in_flight = [], [], 0
