"""Commit a session, then apply the Redis effects it recorded (or undo the ones done early).

``transaction`` is the one way an edge (request, job, CLI command, mail listener) runs its unit of work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from router.effects import Effect, EffectSink, take_effects, take_undo

log = structlog.get_logger(__name__)


async def _apply(sink: EffectSink, effects: Sequence[Effect], what: str) -> None:
    if not effects:
        return
    try:
        await sink.apply(effects)
    except Exception as exc:  # Redis down: the database already holds the truth; reconcile repairs.
        log.warning("effects_not_applied", what=what, count=len(effects), error=repr(exc))


async def commit(session: AsyncSession, sink: EffectSink) -> None:
    """Commit; then apply the recorded effects. A failed commit rolls back and applies the undo list."""
    try:
        await session.commit()
    except BaseException:
        await rollback(session, sink)
        raise
    await _apply(sink, take_effects(session), "after_commit")


async def rollback(session: AsyncSession, sink: EffectSink) -> None:
    undo = take_undo(session)
    try:
        await session.rollback()
    finally:
        await _apply(sink, undo, "undo")


@asynccontextmanager
async def transaction(sessionmaker: async_sessionmaker[AsyncSession], sink: EffectSink) -> AsyncIterator[AsyncSession]:
    """One session and one transaction: committed, then its effects applied, when the block ends normally;
    rolled back, with the undo list applied, when anything escapes it (the exception goes on).

    :param sessionmaker: makes the session (the application context's ``sessionmaker``).
    :param sink: where the recorded effects go after the commit (the context's ``effects``).

    A failed commit rolls back too and its error goes on, so a caller that answers per error kind (a job's
    ``Retry``, SMTP's 451) catches around the ``async with``.
    """
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await rollback(session, sink)
            raise
        await commit(session, sink)
