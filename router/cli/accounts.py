"""``tierroute agents deactivate|set-password|set-role|revoke-tokens``: changes that end access at once.

Each commits in one transaction; web sessions they end are refused on their next request, and API tokens
(through every API process's token cache, ``router.agents.tokens``) on theirs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from router.cli.admin import _commit_or_exit
from router.cli.common import console, parse_tiers

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

Email = Annotated[str, typer.Argument(help="The agent's email address.")]


def deactivate(email: Email) -> None:
    """Deactivate an agent: signed out of the web UI and refused by the API from the next request on."""
    from router.agents import service as agents

    async def work(session: AsyncSession) -> None:
        await agents.deactivate(session, await agents.by_email(session, email))

    _commit_or_exit(work)
    console.print(f"agent {email} deactivated: signed out everywhere, API tokens refused")


def set_password(
    email: Email,
    password: Annotated[
        str | None,
        typer.Option(
            help="New web UI password; prefer TIERROUTE_AGENT_PASSWORD or --ask-password.",
            envvar="TIERROUTE_AGENT_PASSWORD",
        ),
    ] = None,
    ask_password: Annotated[bool, typer.Option(help="Prompt for the password (not echoed).")] = False,
) -> None:
    """Set an agent's web UI password; every web session of theirs ends."""
    from router.agents import service as agents

    if ask_password:
        password = typer.prompt("Web UI password", hide_input=True, confirmation_prompt=True)
    if not password:
        typer.echo("error: give the password with --ask-password or TIERROUTE_AGENT_PASSWORD", err=True)
        raise typer.Exit(2)
    new_password = password

    async def work(session: AsyncSession) -> None:
        await agents.set_password(session, await agents.by_email(session, email), new_password)

    _commit_or_exit(work)
    console.print(f"password of {email} changed; their web sessions are signed out")


def set_role(
    email: Email,
    role: Annotated[str, typer.Option(help="agent, lead or admin.")],
    tiers: Annotated[str | None, typer.Option(help="Support tiers worked, e.g. 1,2 (unchanged if left out).")] = None,
) -> None:
    """Change an agent's role (and tiers): in force on their next request, web or API."""
    from router.agents import service as agents

    tier_list = parse_tiers(tiers) if tiers is not None else None

    async def work(session: AsyncSession) -> None:
        await agents.set_role(session, await agents.by_email(session, email), role, tier_list)

    _commit_or_exit(work)
    console.print(f"agent {email} is now {role}" + (f", tiers {tiers}" if tiers is not None else ""))


def revoke_tokens(email: Email) -> None:
    """Revoke every API token of an agent (refused from the next request on)."""
    from router.agents import service as agents

    async def work(session: AsyncSession) -> int:
        return await agents.revoke_tokens(session, await agents.by_email(session, email))

    count = _commit_or_exit(work)
    console.print(f"{count} API token(s) of {email} revoked")


def install(agents_app: typer.Typer) -> None:
    """Add these commands to ``tierroute agents``."""
    agents_app.command("deactivate")(deactivate)
    agents_app.command("set-password")(set_password)
    agents_app.command("set-role")(set_role)
    agents_app.command("revoke-tokens")(revoke_tokens)
