"""``tierroute agents list|set|token``: agent administration from a shell on the server.

Registered on ``admin.agents_app`` (beside ``agents add`` and ``accounts``' ``deactivate``, ``set-password``,
``set-role``, ``revoke-tokens``). The same service functions as the web UI and the
API, so every change is in the admin log, with the actor ``cli``. An agent is named by id or email.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from router.cli.admin import _commit_or_exit, _exit_with, agents_app
from router.cli.common import parse_tiers

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from router.models.agents import Agent

Who = Annotated[str, typer.Argument(help="The agent's id or email.")]


def _describe(agent: Agent) -> str:
    tiers = "all" if agent.is_lead else ",".join(map(str, agent.tiers)) or "none"
    state = "active" if agent.active else "deactivated"
    caps = ",".join(f"{t}={n}" for t, n in sorted(agent.max_open.items())) or "default"
    skills, shift = ",".join(agent.skills) or "none", agent.shift_calendar or "always"
    push = f"{agent.status}\tcaps {caps}\tskills {skills}\tshift {shift}"
    return f"{agent.id}\t{agent.email}\t{agent.name}\t{agent.role}\ttiers {tiers}\t{state}\t{push}"


def _parse_caps(text: str) -> dict[int, int]:
    """``1=5,2=3`` → ``{1: 5, 2: 3}``; a located message and exit 2 otherwise."""
    caps: dict[int, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        tier, _, cap = part.partition("=")
        if not (tier.strip().isdigit() and cap.strip().isdigit()):
            _exit_with(f"error: --max-open: {part!r} is not TIER=COUNT (for example 1=5)")
        caps[int(tier)] = int(cap)
    return caps


@agents_app.command("list")
def agents_list() -> None:
    """Every agent, one a line: id, email, name, role, tiers, active or deactivated."""
    from router.agents import service as agents

    async def work(session: AsyncSession) -> list[str]:
        return [_describe(a) for a in await agents.list_agents(session)]

    for line in _commit_or_exit(work):
        typer.echo(line)


@agents_app.command("set")
def agents_set(
    who: Who,
    name: Annotated[str | None, typer.Option(help="New full name.")] = None,
    role: Annotated[str | None, typer.Option(help="agent, lead or admin.")] = None,
    tiers: Annotated[str | None, typer.Option(help="Support tiers worked, e.g. 1,2 (replaces them).")] = None,
    time_zone: Annotated[str | None, typer.Option(help="IANA time zone for the web UI, e.g. Europe/Berlin.")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive", help="Reactivate or deactivate.")] = None,
    password: Annotated[
        str | None,
        typer.Option(help="New web UI password; prefer --ask-password.", envvar="TIERROUTE_AGENT_PASSWORD"),
    ] = None,
    ask_password: Annotated[bool, typer.Option(help="Prompt for a new web UI password (not echoed).")] = False,
    status: Annotated[str | None, typer.Option(help="Push assignment: available, away or offline.")] = None,
    max_open: Annotated[
        str | None, typer.Option(help="Open tickets at most per tier, e.g. 1=5,2=3 (merged into the caps).")
    ] = None,
    skills: Annotated[
        str | None, typer.Option(help="Skills, comma-separated (replaces them; empty: none), e.g. billing,de.")
    ] = None,
    shift: Annotated[
        str | None, typer.Option(help="An SLA calendar naming the shifts (rules/sla.yaml); empty: always.")
    ] = None,
) -> None:
    """Change an agent: name, role, tiers, time zone, active, password, and push assignment's status, caps,
    skills and shift (only what is given)."""
    from router.agents import service as agents
    from router.errors import Invalid

    tier_list = parse_tiers(tiers) if tiers is not None else None
    caps = _parse_caps(max_open) if max_open is not None else None
    skill_list = skills.split(",") if skills is not None else None
    if ask_password:
        password = typer.prompt("Web UI password", hide_input=True, confirmation_prompt=True)
    if password is not None:
        try:
            agents.checked_password(password)
        except Invalid as exc:
            _exit_with(f"error: {exc.detail}")

    async def work(session: AsyncSession) -> str:
        agent = await agents.find_agent(session, who)
        await agents.change_agent(
            session,
            None,
            agent,
            name=name,
            role=role,
            tiers=tier_list,
            time_zone=time_zone,
            status=status,
            max_open=caps,
            skills=skill_list,
            shift_calendar=shift,
        )
        if active is not None:
            await agents.set_active(session, None, agent, active)
        if password is not None:
            await agents.reset_password(session, None, agent, password)
        return _describe(agent)

    typer.echo(_commit_or_exit(work))


@agents_app.command("token")
def agents_token(
    who: Who,
    label: Annotated[str, typer.Option(help="What the token is for (shown in lists).")] = "cli",
    revoke: Annotated[int | None, typer.Option(help="Revoke the token with this id instead of issuing one.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the agent's tokens instead.")] = False,
) -> None:
    """Issue an API token (printed once), ``--revoke ID`` one, or ``--list`` them."""
    from router.agents import service as agents

    async def work(session: AsyncSession) -> list[str]:
        agent = await agents.find_agent(session, who)
        if list_:
            rows = await agents.tokens_of(session, agent)
            return [f"{t.id}\t{t.prefix}…\t{t.label}\t{'revoked' if t.revoked else 'active'}" for t in rows]
        if revoke is not None:
            row = await agents.revoke_token(session, None, agent, revoke)
            return [f"token {row.id} ({row.prefix}…) of {agent.email} revoked"]
        row, token = await agents.issue_token_for(session, None, agent, label)
        return [f"token {row.id} for {agent.email} (shown once): {token}"]

    for line in _commit_or_exit(work):
        typer.echo(line)
