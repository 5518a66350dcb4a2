"""What the command modules share: the consoles, the event loop runner, tier parsing, one transaction.

Imports stay light here (typer, rich's console, the vocabulary): every command and ``--help`` load this
module, and the database, Redis and the web app are imported by the functions that use them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from rich.console import Console

from rules.vocabulary import MAX_SUPPORT_TIER, MIN_SUPPORT_TIER, SUPPORT_TIERS

if TYPE_CHECKING:
    from pydantic import ValidationError
    from sqlmodel.ext.asyncio.session import AsyncSession

    from queues.runtime import Runtime
    from router.effects import Effect
    from router.settings import Settings

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
        import asyncio

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


async def in_database(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work(session)`` in one committed transaction on the (migrated) database alone.

    For administration (agents, customers): it starts no Redis, rulebook, templates or webhooks, which
    ``in_session`` opens and which cost a small command most of its time. Should the work record Redis effects
    after all, they are applied through a runtime opened for them once the transaction has committed.
    """
    import asyncio

    from router.db import make_engine, make_sessionmaker, migrate
    from router.reports import facts
    from router.sla.policies import SESSION_KEY, SlaPolicyProvider
    from router.unit_of_work import transaction

    url = settings.effective_database_url
    facts.install()  # as ``open_runtime`` does: a ticket touched here keeps its report facts current
    install_tier_scale(settings)  # as ``open_runtime`` does: customer tiers compare on the installation's scale
    await asyncio.to_thread(migrate, url)
    engine = make_engine(url)
    try:
        # The installation's SLA policies (their calendars are the agents' shifts), as ``open_runtime`` has them.
        info = {SESSION_KEY: SlaPolicyProvider(settings.sla_policies)}
        async with transaction(make_sessionmaker(engine, info=info), _RuntimeOnDemand(settings)) as session:
            return await work(session)
    finally:
        await engine.dispose()


def install_tier_scale(settings: Settings) -> None:
    """Read the tier policy for the order of its scale (``best:``), which this process then compares customer
    tiers on; a policy with mistakes is one line per problem and exit 2."""
    from router.customers.policy import TierPolicyProvider
    from rules.tier_loader import TierPolicyError

    try:
        TierPolicyProvider(settings.tier_policy)
    except TierPolicyError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None


class _RuntimeOnDemand:
    """An effect sink that opens the runtime (and so Redis) only when there are effects to apply."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def apply(self, effects: Sequence[Effect]) -> None:
        from queues.runtime import open_runtime

        async with open_runtime(self.settings, run_migrations=False) as runtime:
            await runtime.app.effects.apply(effects)


def settings_problems(exc: ValidationError) -> list[str]:
    """One line per wrong ``TIERROUTE_*`` value, named as the operator set it."""
    lines = []
    for error in exc.errors():
        name = "TIERROUTE_" + "_".join(str(part) for part in error["loc"]).upper()
        lines.append(f"error: setting {name}: {error['msg']}")
    return lines


def settings_or_exit() -> Settings:
    """The settings, or exit 2 with one line per wrong value: checked before a server starts, where the
    error would otherwise surface as a traceback from inside uvicorn's app factory."""
    from pydantic import ValidationError

    from router.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        for line in settings_problems(exc):
            typer.echo(line, err=True)
        raise typer.Exit(2) from None


def writable_or_exit(path: Path) -> None:
    """Exit 2 with one line unless ``path`` can be written: checked before a long computation, which would
    otherwise be lost to a typo in a directory name. The check creates (and removes) a file beside it."""
    import tempfile

    def refuse(reason: str) -> NoReturn:
        typer.echo(f"error: cannot write {path}: {reason}", err=True)
        raise typer.Exit(2)

    if path.is_dir():
        refuse("it is a directory")
    parent = path.parent
    if not parent.exists():
        refuse(f"no such directory: {parent}")
    if not parent.is_dir():
        refuse(f"not a directory: {parent}")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{path.name}.", suffix=".tmp"):
            pass
        if path.exists():
            with path.open("a"):
                pass
    except OSError as exc:
        refuse(exc.strerror or str(exc))


def write_or_exit(path: Path, text: str) -> None:
    """Write ``text`` to ``path``; a failure (a full disk, a directory removed meanwhile) is one line and exit 2."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"error: cannot write {path}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
