"""Bearer tokens → their agent, with a per-process cache that never outlives a change of access.

A query per API call would be the simple way; the cache spares it. What makes the cache safe is the
**credentials epoch**, a value in the shared Redis that every change of an agent's tokens, role or
standing replaces once it commits (``router.effects.CredentialsChanged``, applied by the effect sink).
Every request reads the epoch (one Redis round trip) *before* anything else, and a cached entry counts
only if it was loaded under the same epoch: a change made in any process is in force on the next request
in every process. When the epoch cannot be read (Redis unreachable) the cache is not used at all.

A change made behind tierroute's back (SQL by hand) moves no epoch: entries live ``ttl`` seconds at most.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.agents.service import hash_token
from router.models.agents import Agent, ApiToken

if TYPE_CHECKING:
    from router.context import CredentialsEpochPort


class TokenCache:
    """Token hash → (epoch it was loaded under, agent), each entry for ``ttl`` seconds at most."""

    def __init__(self, ttl: float = 10.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, str, Agent]] = {}

    def get(self, token_hash: str, epoch: str) -> Agent | None:
        hit = self._entries.get(token_hash)
        if hit is None or hit[0] < time.monotonic() or hit[1] != epoch:
            return None
        return hit[2]

    def put(self, token_hash: str, epoch: str, agent: Agent) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[token_hash] = (time.monotonic() + self.ttl, epoch, agent)

    def clear(self) -> None:
        self._entries.clear()


class TokenLookup:
    """The process's way from a bearer token to its active agent (a detached copy)."""

    def __init__(self, epochs: CredentialsEpochPort | None, cache: TokenCache | None = None) -> None:
        self.epochs = epochs
        self.cache = cache or TokenCache()

    async def _epoch(self) -> str | None:
        return await self.epochs.current() if self.epochs is not None else None

    async def cached(self, token: str) -> Agent | None:
        """The agent if the cache holds it under the current epoch (no database needed), else None."""
        epoch = await self._epoch()
        return self.cache.get(hash_token(token), epoch) if epoch is not None else None

    async def agent(self, session: AsyncSession, token: str) -> Agent | None:
        """The active agent holding ``token``, or None (unknown, revoked, or the agent deactivated)."""
        epoch = await self._epoch()  # before the query: a change committed meanwhile moves it past us
        digest = hash_token(token)
        if epoch is not None and (hit := self.cache.get(digest, epoch)) is not None:
            return hit
        agent = await _load(session, digest)
        if agent is not None:
            session.expunge(agent)
            if epoch is not None:
                self.cache.put(digest, epoch, agent)
        return agent


async def _load(session: AsyncSession, digest: str) -> Agent | None:
    query = (
        select(Agent)
        .join(ApiToken, ApiToken.agent_id == Agent.id)  # type: ignore[arg-type]
        .where(ApiToken.token_hash == digest, ApiToken.revoked == False, Agent.active == True)  # noqa: E712
    )
    return (await session.exec(query)).first()
