"""Commit a session, then apply the Redis effects it recorded (or undo the ones done early)."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
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
