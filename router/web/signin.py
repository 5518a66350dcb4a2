"""Sign-in with email and password, throttled per email and per client address (counters in Redis)."""

from __future__ import annotations

import hashlib

from sqlmodel.ext.asyncio.session import AsyncSession

from router.agents import service as agents
from router.context import CounterPort
from router.errors import DomainError, NotAuthenticated
from router.models.agents import Agent
from router.settings import Settings


class TooManyAttempts(DomainError):
    status = 429
    title = "Too many requests"


def _keys(email: str, client: str) -> tuple[str, str]:
    # Hashed: the counter names in Redis should not list who tried to sign in.
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"login:email:{digest}", f"login:ip:{client}"


async def sign_in(
    session: AsyncSession, counters: CounterPort, settings: Settings, *, email: str, password: str, client: str
) -> Agent:
    """The agent behind ``email`` and ``password``; ``TooManyAttempts`` (429) once either limit is reached.

    Only failures count; a success clears the email's count (not the address's: one office may share it).
    """
    email_key, ip_key = _keys(email, client)
    for key, limit in ((email_key, settings.login_failures_per_email), (ip_key, settings.login_failures_per_ip)):
        count, retry_after = await counters.count(key)
        if count >= limit:
            raise TooManyAttempts(
                f"too many failed sign-ins; try again in {(retry_after + 59) // 60} min",
                retry_after=retry_after,
                email=email,
            )
    agent = await agents.authenticate(session, email, password)
    if agent is None:
        await counters.hit(email_key, settings.login_window_seconds)
        await counters.hit(ip_key, settings.login_window_seconds)
        raise NotAuthenticated("the email or the password is wrong", email=email)
    await counters.clear(email_key)
    return agent
