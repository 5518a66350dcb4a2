"""Web UI sessions kept in the database, so the server can end them.

The signed cookie names a session by a random 256-bit token (only its SHA-256 is stored). Every page
request looks the session and its agent up in one indexed query, the one that loaded the agent before.
A session ends when its row is deleted — sign-out (that session), deactivation or a password change (all
of the agent's) — or at ``expires_at``, a fixed lifetime from sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.agents import Agent, WebSession
from router.models.columns import utcnow


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start(session: AsyncSession, agent: Agent, *, lifetime_seconds: int) -> str:
    """A new session for ``agent``; returns the token for the cookie (shown once, stored hashed).

    The agent's expired sessions are swept here, so the table holds little more than the live ones."""
    assert agent.id is not None
    now = utcnow()
    await session.exec(
        delete(WebSession).where(col(WebSession.agent_id) == agent.id, col(WebSession.expires_at) <= now)
    )
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=lifetime_seconds)
    session.add(WebSession(agent_id=agent.id, token_hash=_digest(token), created_at=now, expires_at=expires_at))
    return token


async def agent_for(session: AsyncSession, token: str) -> Agent | None:
    """The active agent of a live session, or None (ended, expired, unknown, or the agent deactivated)."""
    query = (
        select(Agent)
        .join(WebSession, col(WebSession.agent_id) == col(Agent.id))
        .where(WebSession.token_hash == _digest(token), col(WebSession.expires_at) > utcnow(), Agent.active == True)  # noqa: E712
    )
    return (await session.exec(query)).first()


async def end(session: AsyncSession, token: str) -> None:
    """Sign-out: this session only (the agent's other browsers stay signed in)."""
    await session.exec(delete(WebSession).where(col(WebSession.token_hash) == _digest(token)))


async def end_all(session: AsyncSession, agent_id: int) -> None:
    """Every session of the agent (deactivation, password change)."""
    await session.exec(delete(WebSession).where(col(WebSession.agent_id) == agent_id))
