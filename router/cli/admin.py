"""Administration: ``demo``, ``agents add``, ``customers import`` (``audit`` has its own module)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from router.cli.common import console, in_database, in_session, parse_tiers, run

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from queues.runtime import Runtime
    from router.demo import DemoResult

agents_app = typer.Typer(help="Manage helpdesk agents.", no_args_is_help=True)
customers_app = typer.Typer(help="Manage customers.", no_args_is_help=True)
T = TypeVar("T")


def _commit_or_exit(work: Callable[[AsyncSession], Awaitable[T]], consequence: str = "") -> T:
    """``work`` in one committed transaction on the database (no Redis: ``in_database``); a refused change is
    an error line and exit 2: a ``DomainError``, or a row someone else wrote meanwhile (a unique key)."""
    from sqlalchemy.exc import IntegrityError

    from router.errors import DomainError
    from router.settings import get_settings

    try:
        return run(in_database(get_settings(), work))
    except DomainError as exc:
        _exit_with(f"error: {exc.detail}{consequence}")
    except IntegrityError as exc:
        _exit_with(f"error: refused by the database, changed meanwhile? ({exc.orig}){consequence}")


def _exit_with(line: str) -> NoReturn:
    typer.echo(line.replace("\n", " "), err=True)
    raise typer.Exit(2)


def demo(tickets: Annotated[int, typer.Option(help="How many demo tickets (first run only).")] = 200) -> None:
    """Load demo customers (all four tiers), agents for every support tier, the example knowledge base and
    varied tickets."""
    from router import demo as demo_data
    from router.settings import get_settings

    async def work(session: AsyncSession, runtime: Runtime) -> DemoResult:
        return await demo_data.load(session, runtime.app.effects, tickets_wanted=tickets)

    result = run(in_session(get_settings(), work))
    console.print(
        f"demo data: {result.customers} customers, {result.agents} new agents, {result.tickets} new tickets, "
        f"{result.articles} new knowledge-base articles"
    )
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
    from router.errors import Invalid

    tier_list = parse_tiers(tiers)
    try:  # before asking for a password
        name, email = agents.checked_identity(name, email)
    except Invalid as exc:
        _exit_with(f"error: {exc.detail}")
    if ask_password:
        password = typer.prompt("Web UI password", hide_input=True, confirmation_prompt=True)
    if password is not None and len(password) < 8:
        _exit_with("error: a web UI password needs at least 8 characters")

    async def work(session: AsyncSession) -> str:
        agent = await agents.add_agent(
            session,
            name=name,
            email=email,
            role=role,
            tiers=tier_list,
            password=password,
        )
        _row, token = await agents.issue_token_for(session, None, agent, label="cli")
        return token

    token = _commit_or_exit(work)
    console.print(f"agent {email} added ({role}, tiers {','.join(map(str, tier_list))})")
    if password:
        console.print("web UI sign-in enabled: /ui/login")
    console.print(f"API token (shown once): {token}")


@customers_app.command("import")
def customers_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: external_ref,name,tier,domains,contacts (';' separated), and attr:NAME and "
            "metric:NAME@YYYY-MM columns (docs/customer-data.md)."
        ),
    ],
    encoding: Annotated[
        str | None,
        typer.Option(
            help="The file's encoding (cp1252, latin-1, ...) when it is not UTF-8 (with or without a byte-order "
            "mark) or UTF-16 with a byte-order mark, which are recognized."
        ),
    ] = None,
    upsert: Annotated[
        bool,
        typer.Option(
            help="Update the customers whose external_ref exists (name, tier, attributes; domains and contacts "
            "added) instead of refusing them; name and tier may then be left empty."
        ),
    ] = False,
    period: Annotated[
        str | None, typer.Option(help="The month (YYYY-MM) of metric:NAME columns that name none.")
    ] = None,
    source: Annotated[str, typer.Option(help="Where the file's metrics come from (billing, crm, ...).")] = "import",
) -> None:
    """Import customers from CSV, all or nothing: every problem (a bad value, a reference, domain or contact
    repeated in the file or held by another customer) is listed as file:line:column, and then nothing is
    imported."""
    from router.customers import import_file, importing
    from router.customers.values import PERIOD, PERIOD_RULE, SOURCE, SOURCE_RULE

    if period is not None and not PERIOD.fullmatch(period):
        _exit_with(f"error: --period {period!r} is not {PERIOD_RULE}")
    if not SOURCE.fullmatch(source):
        _exit_with(f"error: --source {source!r} is not {SOURCE_RULE}")
    options = import_file.ImportOptions(upsert=upsert, period=period, source=source)

    async def work(session: AsyncSession) -> importing.Imported:
        return await importing.import_rows(session, str(file), checked, upsert=upsert)

    try:
        checked = import_file.read_rows(file, encoding, options)
        done = _commit_or_exit(work, "; nothing was imported")
    except import_file.Refused as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(exc.problems)} problem(s); nothing was imported", err=True)
        raise typer.Exit(2) from None
    line = f"imported {done.created} customers"
    if upsert:
        line += f", updated {done.updated}"
    m = done.metrics
    if m.created or m.updated or m.unchanged:
        line += f"; metrics: {m.created} new, {m.updated} changed, {m.unchanged} unchanged"
    console.print(line)
