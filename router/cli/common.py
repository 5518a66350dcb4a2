"""What the command modules share: the consoles, the event loop runner, tier parsing, one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console

from router.settings import Settings
from rules.vocabulary import MAX_SUPPORT_TIER, MIN_SUPPORT_TIER, SUPPORT_TIERS

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from queues.runtime import Runtime

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def parse_tiers(text: str) -> list[int]:
    try:
        tiers = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise typer.BadParameter(f"tiers are numbers separated by commas, like 0,1 (got {text!r})") from None
    if any(t not in SUPPORT_TIERS for t in tiers):
        raise typer.BadParameter(f"support tiers are {MIN_SUPPORT_TIER} to {MAX_SUPPORT_TIER} (got {text!r})")
    return tiers


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    try:
        import uvloop

        return uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is optional
        return asyncio.run(main())


async def in_session(settings: Settings, work: Callable[[AsyncSession, Runtime], Awaitable[T]]) -> T:
    """Run ``work(session, runtime)`` in one transaction, committed (and effects applied) at the end."""
    from queues.runtime import open_runtime
    from router.unit_of_work import transaction

    async with (
        open_runtime(settings) as runtime,
        transaction(runtime.app.sessionmaker, runtime.app.effects) as session,
    ):
        return await work(session, runtime)
