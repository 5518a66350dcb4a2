"""``tierroute audit verify`` and ``tierroute audit checkpoint``: check the chains, sign their heads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from router.cli.common import console, err, run

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from sqlmodel.ext.asyncio.session import AsyncSession

    from router.audit.chain import ChainReport
    from router.audit.checkpoints import Checkpoint
    from router.settings import Settings

app = typer.Typer(help="Check the audit trail and sign checkpoints of it (docs/audit.md).", no_args_is_help=True)
T = TypeVar("T")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@asynccontextmanager
async def _session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on the migrated database that seals and verifies with the installation's key."""
    import asyncio

    from router.audit.keys import SESSION_KEY, load_keyring
    from router.db import make_engine, make_sessionmaker, migrate

    keyring = load_keyring(settings, create=False)
    url = settings.effective_database_url
    await asyncio.to_thread(migrate, url, audit_keyring=keyring)
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine, info={SESSION_KEY: keyring})() as session:
            yield session
    finally:
        await engine.dispose()


def _run_keyed(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work``; a key or checkpoint that cannot be used is one line and exit 2."""
    from router.audit.checkpoints import CheckpointError
    from router.audit.keys import AuditKeyError

    try:
        return run(work())
    except (AuditKeyError, CheckpointError) as exc:
        raise _fail(str(exc)) from None


def _trusted_key(settings: Settings, public_key: Path | None) -> Ed25519PublicKey | None:
    """The key a checkpoint must be signed with: ``--public-key``, else this installation's signing key."""
    from router.audit.keys import load_public_key

    if public_key is not None:
        return load_public_key(public_key)
    own = settings.effective_audit_signing_key_file
    return load_public_key(own) if own.exists() else None


@app.command("verify")
def verify(
    ticket: Annotated[int | None, typer.Option("--ticket", min=1, help="Verify this ticket only.")] = None,
    against: Annotated[
        Path | None, typer.Option("--against", help="A checkpoint file: also detects a chain rewritten since it.")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="PEM key the checkpoint must be signed with.")
    ] = None,
) -> None:
    """Verify every ticket's chain (or one); exits 1 and names the tickets whose chain is broken."""
    from rich.progress import Progress

    from router.settings import get_settings

    settings = get_settings()

    async def main() -> tuple[list[ChainReport], Checkpoint | None]:
        from router.audit import checkpoints

        checkpoint = None
        if against is not None:
            trusted = _trusted_key(settings, public_key)
            checkpoint = checkpoints.read(against, trusted)
            if trusted is None:
                err.print("warning: no --public-key and no local signing key: the checkpoint's signer is unchecked")
        async with _session(settings) as session:
            if ticket is not None:
                return [await _verify_one(session, ticket, checkpoint)], checkpoint
            with Progress(console=err, transient=True) as progress:
                task = progress.add_task("verifying audit chains", total=None)
                reports = []
                stream = checkpoints.verify_against(session, checkpoint) if checkpoint else _verify_all(session)
                async for report in stream:
                    reports.append(report)
                    progress.advance(task)
                return reports, checkpoint

    reports, checkpoint = _run_keyed(main)
    broken = [r for r in reports if not r.valid]
    for r in broken:
        typer.echo(f"BROKEN ticket {r.ticket_id}: event {r.broken_at_seq}: {r.problem}", err=True)
    legacy = sum(1 for r in reports if r.legacy_events)
    console.print(f"checked {len(reports)} tickets: {len(reports) - len(broken)} valid, {len(broken)} broken")
    if legacy:
        console.print(f"{legacy} tickets begin with legacy events (unkeyed, from before the chain was keyed)")
    if checkpoint is not None:
        console.print(
            f"held to the checkpoint of {checkpoint.created_at.isoformat()} "
            f"({len(checkpoint.heads)} tickets, root {checkpoint.root[:16]}, signed by key {checkpoint.key_id})"
        )
    if broken:
        raise typer.Exit(1)


async def _verify_all(session: AsyncSession) -> AsyncIterator[ChainReport]:
    from router.audit.service import verify_all

    async for report in verify_all(session):
        yield report


async def _verify_one(session: AsyncSession, ticket_id: int, checkpoint: Checkpoint | None) -> ChainReport:
    from router.audit.service import verify_ticket
    from router.models.tickets import Ticket

    found = await session.get(Ticket, ticket_id)
    pin = checkpoint.pins().get(ticket_id) if checkpoint else None
    if found is None:
        if pin is None:
            raise _fail(f"ticket {ticket_id} does not exist")
        from router.audit.chain import ChainReport

        return ChainReport(ticket_id, False, 0, pin[0], "the ticket is gone from the database; a checkpoint saw it")
    return await verify_ticket(session, found, pin)


@app.command("checkpoint")
def checkpoint(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write it here (default: a new file in the checkpoint folder).")
    ] = None,
) -> None:
    """Sign every ticket's chain head (Ed25519 over their Merkle root) and write the checkpoint file."""
    from router.settings import get_settings

    settings = get_settings()
    if out is not None and not out.parent.is_dir():
        raise _fail(f"{out.parent}: no such folder")

    async def main() -> tuple[Checkpoint, Path]:
        from router.audit import checkpoints

        async with _session(settings) as session:
            return await checkpoints.take(session, settings, out)

    try:
        taken, path = _run_keyed(main)
    except OSError as exc:
        raise _fail(f"{exc.filename or out}: cannot write the checkpoint: {exc.strerror or exc}") from None
    console.print(
        f"checkpoint of {len(taken.heads)} tickets at {taken.created_at.isoformat()}: root {taken.root}, "
        f"signed by key {taken.key_id}"
    )
    typer.echo(str(path))
