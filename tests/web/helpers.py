"""Helpers for the web UI tests: agents with a web password, signing in, reading the CSRF token."""

from __future__ import annotations

import re
import time

import httpx

from queues.runtime import Runtime
from router.agents import service as agents
from router.models.agents import Agent
from router.models.tickets import Ticket
from router.tickets import service as tickets
from router.unit_of_work import commit
from rules import Decision

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def web_agent(runtime: Runtime, *, role: str = "agent", tiers: tuple[int, ...] = (1,), name: str = "") -> Agent:
    async with runtime.app.sessionmaker() as s:
        agent = await agents.add_agent(
            s,
            name=name or f"{role.title()} {'/'.join(map(str, tiers))}",
            email=f"{role}-{time.monotonic_ns()}@support.example",
            role=role,
            tiers=tiers,
            password=PASSWORD,
        )
        await commit(s, runtime.app.effects)
        return agent


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field in the page"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, agent: Agent, password: str = PASSWORD) -> str:
    """Sign in through the form (as a fresh visitor); returns the session's CSRF token."""
    client.cookies.clear()
    form = await client.get("/ui/login")
    assert form.status_code == 200
    r = await client.post(
        "/ui/login", data={"email": agent.email, "password": password, "csrf_token": csrf_of(form.text)}
    )
    assert r.status_code == 303, r.text
    home = await client.get("/ui/")
    assert home.status_code == 200
    return csrf_of(home.text)


async def open_ticket(
    runtime: Runtime,
    *,
    subject: str = "Cannot log in",
    body: str = "It fails.",
    html: str | None = None,
    tier: int | None = 1,
    priority: str = "normal",
) -> int:
    """A ticket through the ticket service, queued in ``tier`` by a fixed decision (None: left unrouted).

    The HTML is stored as given, bypassing intake's cleaning, so tests see what rendering alone does.
    """
    async with runtime.app.sessionmaker() as s:
        ticket = await tickets.open_ticket(
            s,
            subject=subject,
            body=body,
            requester_email="pat@customer.example",
            customer_id=None,
            customer_tier=3,
            priority_hint=None,
            channel="api",
            source="test",
            external_id=None,
            actor=tickets.Actor.system(),
            context=tickets.TicketContext(),
            mail=tickets.MailDetails(html=html) if html is not None else None,
        )
        if tier is not None:
            decision = Decision(support_tier=tier, priority=priority, tags=(), matched=(), rulebook_version="test")
            await tickets.apply_routing(s, ticket, decision)
        await commit(s, runtime.app.effects)
        assert ticket.id is not None
        return ticket.id


async def load(runtime: Runtime, ticket_id: int) -> Ticket:
    async with runtime.app.sessionmaker() as s:
        return await tickets.get(s, ticket_id)
