"""Agents and their bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.addresses import normalized_email
from router.agents import sessions
from router.effects import CredentialsChanged, after_commit
from router.errors import Conflict, Invalid, NotFound
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
) -> Agent:
    """A new agent (``checked_identity`` says what name and email are accepted); the email is unique."""
    name, email = checked_identity(name, email)
    if role not in Role.__members__:
        raise Invalid(f"role must be one of {', '.join(Role.__members__)}, got {role!r}", field="role")
    tier_list = sorted(set(tiers))
    if any(t not in SUPPORT_TIERS for t in tier_list):
        raise Invalid(f"support tiers are {MIN_SUPPORT_TIER} to {MAX_SUPPORT_TIER}, got {tier_list}", field="tiers")
    if (await session.exec(select(Agent).where(Agent.email == email))).first() is not None:
        raise Conflict(f"an agent with email {email} exists")
    agent = Agent(
        name=name,
        email=email,
        role=role,
        tiers=tier_list,
        password_hash=_hasher.hash(password) if password else None,
    )
    session.add(agent)
    await session.flush()
    return agent


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


async def deactivate(session: AsyncSession, agent: Agent) -> None:
    """The agent can no longer sign in or call the API: web sessions end now, tokens on the next request."""
    assert agent.id is not None
    agent.active = False
    await sessions.end_all(session, agent.id)
    _credentials_changed(session)


async def set_password(session: AsyncSession, agent: Agent, password: str) -> None:
    """A new web password; every web session of the agent ends (a stolen cookie dies with the old password)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"a web UI password needs at least {MIN_PASSWORD_LENGTH} characters", field="password")
    assert agent.id is not None
    agent.password_hash = _hasher.hash(password)
    await sessions.end_all(session, agent.id)


async def set_role(session: AsyncSession, agent: Agent, role: str, tiers: Iterable[int] | None = None) -> None:
    """A new role (and tiers): in force on the agent's next request, web or API, in every process."""
    if role not in Role.__members__:
        raise Invalid(f"role must be one of {', '.join(Role.__members__)}, got {role!r}", field="role")
    if tiers is not None:
        tier_list = sorted(set(tiers))
        if any(t not in SUPPORT_TIERS for t in tier_list):
            raise Invalid(f"support tiers are {MIN_SUPPORT_TIER} to {MAX_SUPPORT_TIER}, got {tier_list}", field="tiers")
        agent.tiers = tier_list
    agent.role = role
    _credentials_changed(session)


async def revoke_tokens(session: AsyncSession, agent: Agent) -> int:
    """Revoke every API token of the agent (refused from the next request on); returns how many."""
    rows = (await session.exec(select(ApiToken).where(ApiToken.agent_id == agent.id, ApiToken.revoked == False))).all()  # noqa: E712
    for token in rows:
        token.revoked = True
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
