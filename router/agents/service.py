"""Agents and their bearer tokens; administration by leads and admins (every change in the admin log)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.addresses import normalized_email
from router.agents import availability, sessions
from router.audit import admin_log
from router.db import flush_unique
from router.effects import CredentialsChanged, after_commit
from router.errors import Conflict, Forbidden, Invalid, NotFound
from router.models.agents import Agent, ApiToken, Role
from router.models.columns import text_length
from rules.vocabulary import MAX_SUPPORT_TIER, MIN_SUPPORT_TIER, SUPPORT_TIERS

TOKEN_PREFIX = "trt_"
_hasher = PasswordHasher()


def checked_identity(name: str, email: str) -> tuple[str, str]:
    """The name trimmed (not empty, within the column) and the email normalized (an address; an internal name
    such as ``support.test`` is fine), or ``Invalid``. Callers may check before asking for more (a password)."""
    name = name.strip()
    if not name:
        raise Invalid("an agent needs a name", field="name")
    if len(name) > (limit := text_length(Agent, "name")):
        raise Invalid(f"a name has at most {limit} characters, got {len(name)}", field="name")
    return name, normalized_email(email, internal=True)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def add_agent(
    session: AsyncSession,
    *,
    name: str,
    email: str,
    role: str,
    tiers: Iterable[int],
    password: str | None = None,
    by: Agent | None = None,
) -> Agent:
    """A new agent (``checked_identity`` says what name and email are accepted); the email is unique.

    ``by`` is the lead or admin adding them (None: the command line); a lead may not add an admin.
    """
    name, email = checked_identity(name, email)
    checked_role(role)
    may_manage(by, role)
    tier_list = checked_tiers(tiers)
    if (await session.exec(select(Agent).where(Agent.email == email))).first() is not None:
        raise Conflict(f"an agent with email {email} exists", field="email")
    agent = Agent(
        name=name,
        email=email,
        role=role,
        tiers=tier_list,
        password_hash=_hasher.hash(password) if password else None,
    )
    session.add(agent)
    await flush_unique(session, Conflict(f"an agent with email {email} exists", field="email"))
    admin_log.record(
        session, by, "agent.added", subject(agent), email=email, role=role, tiers=tier_list, password=bool(password)
    )
    return agent


def subject(agent: Agent) -> str:
    return f"agent:{agent.id}"


def checked_role(role: str) -> str:
    if role not in Role.__members__:
        raise Invalid(f"role must be one of {', '.join(Role.__members__)}, got {role!r}", field="role")
    return role


def checked_tiers(tiers: Iterable[int]) -> list[int]:
    tier_list = sorted(set(tiers))
    if any(t not in SUPPORT_TIERS for t in tier_list):
        raise Invalid(f"support tiers are {MIN_SUPPORT_TIER} to {MAX_SUPPORT_TIER}, got {tier_list}", field="tiers")
    return tier_list


def checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"a web UI password needs at least {MIN_PASSWORD_LENGTH} characters", field="password")
    return password


def checked_time_zone(text: str | None) -> str | None:
    """An IANA time zone name (``Europe/Berlin``), checked with zoneinfo; empty means UTC (None)."""
    name = (text or "").strip()
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(
            f"{name!r} is not a time zone name such as Europe/Berlin or America/New_York", field="time_zone"
        ) from None
    return name


@cache
def time_zone_names() -> list[str]:
    """Every name ``checked_time_zone`` accepts, sorted (for the profile form's suggestions)."""
    return sorted(available_timezones())


def may_manage(by: Agent | None, role: str) -> None:
    """Leads and admins manage agents; only admins manage admins (and give the role). None: the command line."""
    if by is None:
        return
    if not by.is_lead:
        raise Forbidden("only leads and admins manage agents")
    if role == Role.admin and by.role != Role.admin:
        raise Forbidden("only admins add, change or give the admin role")


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so a wrong address costs as long as a wrong password.
    Made on first use, not at import: an argon2 hash costs ~0.1-0.5 s of CPU, which every command that
    imports this module (``tierroute agents add``) paid for nothing."""
    return _hasher.hash(secrets.token_urlsafe(16))


async def authenticate(session: AsyncSession, email: str, password: str) -> Agent | None:
    """The active agent with this email and web password, or None (no hint which of the two was wrong)."""
    agent = (await session.exec(select(Agent).where(Agent.email == email.strip().lower()))).first()
    stored = agent.password_hash if agent is not None and agent.active and agent.password_hash else None
    try:
        _hasher.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if stored is None or agent is None:
        return None
    if _hasher.check_needs_rehash(stored):
        agent.password_hash = _hasher.hash(password)
    return agent


#: The shortest web password accepted.
MIN_PASSWORD_LENGTH = 8


async def by_email(session: AsyncSession, email: str) -> Agent:
    """The agent with this email (any case); ``NotFound`` (404) when there is none."""
    agent = (await session.exec(select(Agent).where(Agent.email == email.strip().lower()))).first()
    if agent is None:
        raise NotFound(f"there is no agent {email}")
    return agent


def _credentials_changed(session: AsyncSession) -> None:
    """Every process's token cache forgets what it holds once this commits (``router.agents.tokens``)."""
    after_commit(session, CredentialsChanged())


async def deactivate(session: AsyncSession, agent: Agent, by: Agent | None = None) -> None:
    """The agent can no longer sign in or call the API: web sessions end now, tokens on the next request.

    ``by`` is the lead or admin doing it (None: the command line); nobody deactivates themselves."""
    assert agent.id is not None
    may_manage(by, agent.role)
    if by is not None and by.id == agent.id:
        raise Forbidden("you cannot deactivate yourself")
    if agent.active:
        admin_log.record(session, by, "agent.deactivated", subject(agent))
    agent.active = False
    await sessions.end_all(session, agent.id)
    _credentials_changed(session)


async def reactivate(session: AsyncSession, agent: Agent, by: Agent | None = None) -> None:
    may_manage(by, agent.role)
    if not agent.active:
        agent.active = True
        admin_log.record(session, by, "agent.activated", subject(agent))
        _credentials_changed(session)


async def set_password(session: AsyncSession, agent: Agent, password: str, by: Agent | None = None) -> None:
    """A new web password; every web session of the agent ends (a stolen cookie dies with the old password).
    The admin log records that it changed, never the password."""
    may_manage(by, agent.role)
    agent.password_hash = _hasher.hash(checked_password(password))
    assert agent.id is not None
    await sessions.end_all(session, agent.id)
    admin_log.record(session, by, "agent.password_reset", subject(agent))


async def set_role(
    session: AsyncSession, agent: Agent, role: str, tiers: Iterable[int] | None = None, by: Agent | None = None
) -> None:
    """A new role (and tiers): in force on the agent's next request, web or API, in every process."""
    await change_agent(session, by, agent, role=role, tiers=tiers)


async def revoke_tokens(session: AsyncSession, agent: Agent, by: Agent | None = None) -> int:
    """Revoke every API token of the agent (refused from the next request on); returns how many."""
    may_manage(by, agent.role)
    rows = (await session.exec(select(ApiToken).where(ApiToken.agent_id == agent.id, ApiToken.revoked == False))).all()  # noqa: E712
    for token in rows:
        token.revoked = True
    if rows:
        admin_log.record(session, by, "agent.tokens_revoked", subject(agent), tokens=[t.id for t in rows])
    _credentials_changed(session)
    return len(rows)


async def active_agent(session: AsyncSession, agent_id: int) -> Agent | None:
    """The agent a web session names, if it still exists and is active."""
    agent = await session.get(Agent, agent_id)
    return agent if agent is not None and agent.active else None


async def agents_for_tier(session: AsyncSession, tier: int) -> list[Agent]:
    """Active agents who work ``tier`` (leads and admins work all), by name: whom a lead may assign to."""
    rows = (await session.exec(select(Agent).where(Agent.active == True).order_by(Agent.name))).all()  # noqa: E712
    return [a for a in rows if a.works_tier(tier)]


async def issue_token(session: AsyncSession, agent: Agent, label: str = "") -> str:
    """Create a bearer token; only its hash is stored, so the caller must show it now or never."""
    assert agent.id is not None
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(agent_id=agent.id, token_hash=hash_token(token), prefix=token[:12], label=label))
    return token


# ------------------------------------------------------------------------------------ administration
async def list_agents(session: AsyncSession) -> list[Agent]:
    """Every agent, active first, then by name."""
    rows = await session.exec(select(Agent).order_by(col(Agent.active).desc(), col(Agent.name), col(Agent.id)))
    return list(rows.all())


async def get_agent(session: AsyncSession, agent_id: int) -> Agent:
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"there is no agent {agent_id}")
    return agent


async def find_agent(session: AsyncSession, who: str) -> Agent:
    """By id (``7``) or email, for the command line."""
    if who.strip().isdigit():
        return await get_agent(session, int(who))
    return await by_email(session, who)


async def change_agent(
    session: AsyncSession,
    by: Agent | None,
    agent: Agent,
    *,
    name: str | None = None,
    role: str | None = None,
    tiers: Iterable[int] | None = None,
    time_zone: str | None = None,
    status: str | None = None,
    max_open: dict[int, int] | None = None,
    skills: Iterable[str] | None = None,
    shift_calendar: str | None = None,
) -> Agent:
    """Change what is given (None: keep). A lead changes agents and leads; nobody changes their own role.

    ``max_open`` merges into the caps per tier; ``shift_calendar`` ``""`` removes the shift."""
    may_manage(by, agent.role)
    before = _fields(agent)
    if name is not None:
        agent.name, _ = checked_identity(name, agent.email)
    if role is not None and role != agent.role:
        may_manage(by, checked_role(role))
        if by is not None and by.id == agent.id:
            raise Forbidden("you cannot change your own role (ask another lead or admin)")
        agent.role = role
    if tiers is not None:
        agent.tiers = checked_tiers(tiers)
    if time_zone is not None:
        agent.time_zone = checked_time_zone(time_zone)
    if max_open is not None:
        agent.max_open = {**agent.max_open, **availability.checked_caps(max_open)}
    if skills is not None:
        agent.skills = availability.checked_skills(skills)
    if shift_calendar is not None:
        agent.shift_calendar = availability.checked_shift(session, shift_calendar)
    if status is not None:
        availability.set_status_of(session, agent, status)
    changed = admin_log.changes(before, _fields(agent))
    if changed:
        admin_log.record(session, by, "agent.changed", subject(agent), **changed)
    if "role" in changed or "tiers" in changed:
        _credentials_changed(session)  # in force on their next request, web or API, in every process
    return agent


def _fields(agent: Agent) -> dict[str, Any]:
    return {
        "name": agent.name,
        "role": agent.role,
        "tiers": list(agent.tiers),
        "time_zone": agent.time_zone,
        "status": agent.status,
        "max_open": dict(agent.max_open),
        "skills": list(agent.skills),
        "shift_calendar": agent.shift_calendar,
    }


async def set_time_zone(session: AsyncSession, agent: Agent, time_zone: str) -> Agent:
    """The agent's own profile setting (no lead needed): the time zone their pages show times in."""
    before = agent.time_zone
    agent.time_zone = checked_time_zone(time_zone)
    if agent.time_zone != before:
        admin_log.record(session, agent, "agent.changed", subject(agent), time_zone=[before, agent.time_zone])
    return agent


async def set_active(session: AsyncSession, by: Agent | None, agent: Agent, active: bool) -> Agent:
    """Deactivate (no sign-in, no API token works; history keeps their name) or reactivate an agent."""
    await (reactivate(session, agent, by) if active else deactivate(session, agent, by))
    return agent


async def reset_password(session: AsyncSession, by: Agent | None, agent: Agent, password: str) -> Agent:
    await set_password(session, agent, password, by)
    return agent


async def tokens_of(session: AsyncSession, agent: Agent) -> list[ApiToken]:
    """The agent's tokens (prefix, label, revoked), newest first; the tokens themselves are not stored."""
    rows = await session.exec(select(ApiToken).where(ApiToken.agent_id == agent.id).order_by(col(ApiToken.id).desc()))
    return list(rows.all())


async def issue_token_for(
    session: AsyncSession, by: Agent | None, agent: Agent, label: str = ""
) -> tuple[ApiToken, str]:
    """A new token for ``agent`` issued by a lead or admin: the row and the token, shown once."""
    may_manage(by, agent.role)
    if not agent.active:
        raise Conflict(f"agent {agent.email} is deactivated: reactivate them first")
    label = label.strip()
    if len(label) > (limit := text_length(ApiToken, "label")):
        raise Invalid(f"a label has at most {limit} characters, got {len(label)}", field="label")
    token = await issue_token(session, agent, label)
    await session.flush()
    row = (await session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))).one()
    admin_log.record(session, by, "agent.token_issued", subject(agent), token_id=row.id, prefix=row.prefix, label=label)
    return row, token


async def revoke_token(session: AsyncSession, by: Agent | None, agent: Agent, token_id: int) -> ApiToken:
    """Revoke one of the agent's tokens: refused from the next request on, in every process."""
    may_manage(by, agent.role)
    row = await session.get(ApiToken, token_id)
    if row is None or row.agent_id != agent.id:
        raise NotFound(f"agent {agent.id} has no token {token_id}")
    if not row.revoked:
        row.revoked = True
        admin_log.record(session, by, "agent.token_revoked", subject(agent), token_id=row.id, prefix=row.prefix)
        _credentials_changed(session)
    return row


async def set_status(session: AsyncSession, agent: Agent, status: str, *, by: Agent | None = None) -> Agent:
    """The agent's own toggle (``by`` None or themselves), or a lead's; in the admin log when it changed."""
    if by is not None and by.id != agent.id:
        may_manage(by, agent.role)
    before = agent.status
    availability.set_status_of(session, agent, status)
    if agent.status != before:
        admin_log.record(session, by or agent, "agent.status", subject(agent), status=[before, agent.status])
    return agent
