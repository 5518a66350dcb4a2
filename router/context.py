"""What the application needs from the outside world, assembled once by the composition root.

``router`` never imports ``queues`` (imports flow ``queues -> router -> rules``): the Redis-backed tier queue
and effect sink arrive here as implementations of the small protocols below.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from jinja2 import Environment
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from router.agents.tokens import TokenLookup
from router.assignment.settings import AssignmentProvider
from router.customers.policy import TierPolicyProvider
from router.effects import EffectSink
from router.intake.batcher import IntakeBatcher
from router.routing.rulebook import RulebookProvider
from router.settings import Settings
from router.storage import BlobStore
from router.webhooks.config import WebhooksConfig


@dataclass(frozen=True)
class Popped:
    """An entry taken from a tier queue, with what it takes to put it back."""

    ticket_id: int
    score: float
    created_ms: int


class TierQueuePort(Protocol):
    """The per-tier work queue: an ordered set of ticket ids with an atomic pop."""

    async def pop(self, tier: int) -> Popped | None: ...

    async def pop_many(self, tier: int, count: int) -> list[Popped]:
        """Up to ``count`` entries from the head, in claim order, atomically (each goes to one caller)."""
        ...

    async def push(self, tier: int, ticket_id: int, score: float, created_ms: int) -> None: ...

    async def depth(self, tier: int) -> int: ...

    async def oldest_created_ms(self, tier: int) -> int | None: ...

    async def page(self, tier: int, offset: int, limit: int) -> list[int]: ...

    async def ping(self) -> bool: ...


class CounterPort(Protocol):
    """Expiring counters (sign-in throttling, webhook rate limits), shared by every API replica: in Redis."""

    async def hit(self, key: str, window_seconds: int) -> int:
        """Add one to ``key`` (its window starts at the first hit) and return the new count."""
        ...

    async def count(self, key: str) -> tuple[int, int]:
        """The count and the seconds until the window ends (0, 0 when there is none)."""
        ...

    async def clear(self, key: str) -> None: ...

    async def take(self, limits: Sequence[tuple[str, int]], window_seconds: int) -> int:
        """Atomically: if every ``(key, limit)`` count is below its limit, add one to each (windows start at
        the first count) and return 0; otherwise count nothing and return the seconds until a full one ends."""
        ...

    async def give_back(self, keys: Sequence[str]) -> None:
        """Take back one count from each key (never below zero): an attempt that turned out fine."""
        ...


class CredentialsEpochPort(Protocol):
    """The credentials epoch shared by every API process (``router.agents.tokens``), in Redis."""

    async def current(self) -> str | None:
        """The epoch now, or None when it cannot be read (then nothing cached may be trusted)."""
        ...


@dataclass(frozen=True)
class Presence:
    """Someone with a ticket's page open; ``typing`` while they write a reply or note."""

    agent_id: int
    name: str
    typing: bool


class LiveBusUnavailable(Exception):
    """Redis cannot be reached for live messages or presence: a stream ends quietly (the browser reconnects)."""


class LiveListener(Protocol):
    async def next(self, wait_seconds: float) -> dict[str, Any] | None:
        """The next message on the subscribed topics (decoded JSON, ``topic`` added), None after ``wait_seconds``."""
        ...


class LiveBusPort(Protocol):
    """Live messages for open pages across every API process (Redis pub/sub), and who has a ticket open
    (Redis, short TTLs: presence is ephemeral and never in the database)."""

    def listen(self, topics: Sequence[str]) -> AbstractAsyncContextManager[LiveListener]: ...

    async def publish(self, topic: str, message: str) -> None: ...

    async def present(self, ticket_id: int, agent_id: int, name: str, *, typing: bool, ttl: float) -> bool:
        """Mark the agent on the ticket's page (typing or not) for ``ttl`` seconds; True when that changed
        what others see (a new viewer, typing started or stopped)."""
        ...

    async def leave(self, ticket_id: int, agent_id: int) -> None: ...

    async def who(self, ticket_id: int) -> list[Presence]: ...

    async def seen(self, agent_id: int) -> None:
        """The agent has a live stream open now (push assignment's automatic away reads it)."""
        ...

    async def last_seen(self) -> dict[int, float]:
        """Each agent's last live beat (epoch seconds); agents never seen since Redis started are absent."""
        ...

    async def last_seen_or_unknown(self) -> dict[int, float]:
        """``last_seen``, or nothing while Redis is away."""
        ...


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    effects: EffectSink
    tier_queue: TierQueuePort
    rulebook: RulebookProvider
    #: The customer tier policy (its scale is installed for the process when it is first read).
    tier_policy: TierPolicyProvider
    templates: Environment
    blobs: BlobStore
    webhooks: WebhooksConfig
    counters: CounterPort
    live: LiveBusPort
    #: Group commit for new tickets (``router.intake.batcher``), made on first use.
    intake: IntakeBatcher | None = None
    #: Bearer token → agent, cached per process and checked against the credentials epoch; without an
    #: epoch (the default) nothing is cached and every request asks the database.
    tokens: TokenLookup = field(default_factory=lambda: TokenLookup(None))
    #: Push assignment per tier (``rules/assignment.yaml``); without it every tier pulls.
    assignment: AssignmentProvider = field(default_factory=lambda: AssignmentProvider(None))

    def batcher(self) -> IntakeBatcher:
        """The process's intake batcher."""
        if self.intake is None:
            self.intake = IntakeBatcher(self, writers=1 if self.engine.dialect.name == "sqlite" else 2)
        return self.intake
