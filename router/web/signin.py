"""Sign-in with email and password, throttled in Redis (shared by every API replica).

Three fixed windows, as OWASP's credential-stuffing guidance has it: failures per (email, client address)
(strict: 5), per email from every address together (softer and higher: 50, so one stranger guessing from
one address cannot lock an agent out, yet guessing spread over many addresses still stops) and per client
address over all emails (password spraying). An attempt is counted in all three *before* the password is
checked, by one atomic step that refuses it when any window is full: parallel attempts cannot all slip
past the check. A successful sign-in gives its count back and clears its (email, address) window.
"""

from __future__ import annotations

import hashlib
import ipaddress

from sqlmodel.ext.asyncio.session import AsyncSession

from router.agents import service as agents
from router.context import CounterPort
from router.errors import DomainError, NotAuthenticated
from router.models.agents import Agent
from router.settings import Settings


class TooManyAttempts(DomainError):
    status = 429
    title = "Too many requests"


def client_address(host: str) -> str:
    """The address throttling counts: an IPv6 client by its /64 (one host may take any address in its /64
    for free, so each would otherwise get its own allowance); IPv4, and IPv4 mapped into IPv6, as is."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _keys(email: str, client: str) -> tuple[str, str, str]:
    """(pair, email, address) counter names; the email hashed, so Redis does not list who tried to sign in."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    address = client_address(client)
    return f"login:pair:{digest}:{address}", f"login:email:{digest}", f"login:ip:{address}"


async def sign_in(
    session: AsyncSession, counters: CounterPort, settings: Settings, *, email: str, password: str, client: str
) -> Agent:
    """The agent behind ``email`` and ``password``; ``TooManyAttempts`` (429) while any window is full."""
    pair_key, email_key, ip_key = _keys(email, client)
    limits = [
        (pair_key, settings.login_failures_per_email_and_ip),
        (email_key, settings.login_failures_per_email),
        (ip_key, settings.login_failures_per_ip),
    ]
    retry_after = await counters.take(limits, settings.login_window_seconds)
    if retry_after:
        raise TooManyAttempts(
            f"too many failed sign-ins; try again in {(retry_after + 59) // 60} min",
            retry_after=retry_after,
            email=email,
        )
    agent = await agents.authenticate(session, email, password)
    if agent is None:
        raise NotAuthenticated("the email or the password is wrong", email=email)
    await counters.give_back([email_key, ip_key])
    await counters.clear(pair_key)
    return agent
