"""Administration: ``demo``, ``agents add``, ``customers import`` (``audit`` has its own module)."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from router.cli.common import console, in_session, parse_tiers, run
from router.settings import get_settings
from rules.located import UnreadableSource, read_source
from rules.vocabulary import CUSTOMER_TIERS, MAX_CUSTOMER_TIER, MIN_CUSTOMER_TIER

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from queues.runtime import Runtime
    from router.demo import DemoResult

agents_app = typer.Typer(help="Manage helpdesk agents.", no_args_is_help=True)
customers_app = typer.Typer(help="Manage customers.", no_args_is_help=True)
T = TypeVar("T")


def _commit_or_exit(work: Callable[[AsyncSession, Runtime], Awaitable[T]], consequence: str = "") -> T:
    """``work`` in one committed transaction; a refused change (``DomainError``) is an error line and exit 2."""
    from router.errors import DomainError

    try:
        return run(in_session(get_settings(), work))
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}{consequence}", err=True)
        raise typer.Exit(2) from None


def demo(tickets: Annotated[int, typer.Option(help="How many demo tickets (first run only).")] = 200) -> None:
    """Load demo customers (all four tiers), agents for every support tier and varied tickets."""
    from router import demo as demo_data

    async def work(session: AsyncSession, runtime: Runtime) -> DemoResult:
        return await demo_data.load(session, runtime.app.effects, tickets_wanted=tickets)

    result = run(in_session(get_settings(), work))
    console.print(f"demo data: {result.customers} customers, {result.agents} new agents, {result.tickets} new tickets")
    console.print(f"lead {result.lead_email} token: [bold]{result.lead_token}[/bold]")
    console.print("agents' web password is 'demo'")


@agents_app.command("add")
def agents_add(
    name: Annotated[str, typer.Option(help="Full name.")],
    email: Annotated[str, typer.Option(help="Email address (unique).")],
    role: Annotated[str, typer.Option(help="agent, lead or admin.")] = "agent",
    tiers: Annotated[str, typer.Option(help="Support tiers worked, e.g. 1,2.")] = "1",
    password: Annotated[
        str | None,
        typer.Option(
            help="Web UI password (argon2-hashed); prefer TIERROUTE_AGENT_PASSWORD or --ask-password.",
            envvar="TIERROUTE_AGENT_PASSWORD",
        ),
    ] = None,
    ask_password: Annotated[bool, typer.Option(help="Prompt for the web UI password (not echoed).")] = False,
) -> None:
    """Add an agent and print their API token (shown once; stored hashed); with a password they can sign in."""
    from router.agents import service as agents

    tier_list = parse_tiers(tiers)
    if ask_password:
        password = typer.prompt("Web UI password", hide_input=True, confirmation_prompt=True)
    if password is not None and len(password) < 8:
        typer.echo("error: a web UI password needs at least 8 characters", err=True)
        raise typer.Exit(2)

    async def work(session: AsyncSession, _runtime: Runtime) -> str:
        agent = await agents.add_agent(
            session,
            name=name,
            email=email,
            role=role,
            tiers=tier_list,
            password=password,
        )
        return await agents.issue_token(session, agent, label="cli")

    token = _commit_or_exit(work)
    console.print(f"agent {email} added ({role}, tiers {','.join(map(str, tier_list))})")
    if password:
        console.print("web UI sign-in enabled: /ui/login")
    console.print(f"API token (shown once): {token}")


@customers_app.command("import")
def customers_import(
    file: Annotated[Path, typer.Argument(help="CSV: external_ref,name,tier,domains,contacts (';' separated).")],
) -> None:
    """Import customers from CSV; any bad row is reported with its line and nothing is imported."""
    from router.customers import service as customers
    from router.errors import DomainError

    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[str] = []
    try:
        text = read_source(file, "customers file")
    except UnreadableSource as exc:
        typer.echo(str(exc.problem), err=True)
        raise typer.Exit(2) from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = {"external_ref", "name", "tier"} - set(reader.fieldnames or [])
        if missing:
            problems.append(f"{file}:1: missing columns: {', '.join(sorted(missing))}")
        for row in reader:
            line = reader.line_num
            tier = row.get("tier") or ""
            if not (tier.isascii() and tier.isdigit()) or int(tier) not in CUSTOMER_TIERS:
                problems.append(
                    f"{file}:{line}: tier must be {MIN_CUSTOMER_TIER} to {MAX_CUSTOMER_TIER} (got {tier!r})"
                )
            if not row.get("external_ref") or not row.get("name"):
                problems.append(f"{file}:{line}: external_ref and name are required")
            rows.append((line, row))
    except csv.Error as exc:
        typer.echo(f"{file}:{reader.line_num}: not readable as CSV: {exc}", err=True)
        raise typer.Exit(2) from None
    if problems:
        for p in problems:
            typer.echo(p, err=True)
        raise typer.Exit(2)

    def split(value: str | None) -> list[str]:
        return [v.strip() for v in (value or "").split(";") if v.strip()]

    async def work(session: AsyncSession, _runtime: Runtime) -> int:
        for line, row in rows:
            try:
                await customers.create_customer(
                    session,
                    external_ref=row["external_ref"],
                    name=row["name"],
                    tier=int(row["tier"]),
                    domains=split(row.get("domains")),
                    contacts=split(row.get("contacts")),
                )
            except DomainError as exc:
                raise DomainError(f"{file}:{line}: {exc.detail}") from exc
        return len(rows)

    count = _commit_or_exit(work, "; nothing was imported")
    console.print(f"imported {count} customers")
