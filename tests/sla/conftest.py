"""A runtime on a test SLA policy file with short targets, and helpers to move time and fire timers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from queues.runtime import Runtime, open_runtime
from queues.sla_timers import tick
from queues.worker import drain
from router.app import create_app
from router.models.audit import AuditEvent
from router.models.events import OutboxEvent
from router.models.sla import SlaClock
from router.settings import Settings
from tests.conftest import _empty_tables, auth, ticket_json

POLICIES = """
warning_at: 0.5
calendars:
  berlin:
    timezone: Europe/Berlin
    weekly: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"], thu: ["09:00-17:00"],
             fri: ["09:00-17:00"]}
    holidays: {country: DE, subdivision: BE}
  new-york:
    timezone: America/New_York
    weekly: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"], thu: ["09:00-17:00"],
             fri: ["09:00-17:00"]}
    holidays: {country: US, subdivision: NY}
policies:
  chain:
    calendar: 24x7
    targets: {first_response: 10m, next_response: 10m, resolution: 1h}
    on_breach: [notify_lead, escalate, escalate_to_vendor]
    on_escalation: restart
  office:
    calendar: berlin
    targets: {first_response: 2h, next_response: 4h, resolution: 8h}
    on_breach: [notify_lead, raise_priority]
    on_escalation: continue
  ny-office:
    calendar: new-york
    targets: {first_response: 4h, resolution: 8h}
select:
  - when: {customer_tier: [3]}
    policy: chain
  - when: {customer_tier: [1]}
    policy: ny-office
  - policy: office
"""


@pytest.fixture
async def sla_rt(settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    async with _runtime(settings, tmp_path, {}) as pair:
        yield pair


@pytest.fixture
async def in_house_sla_rt(settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """The same policies, but ``chain`` without ``escalate_to_vendor`` (as the shipped policies are)."""
    policies = POLICIES.replace(
        "on_breach: [notify_lead, escalate, escalate_to_vendor]", "on_breach: [notify_lead, escalate]"
    )
    assert policies != POLICIES
    async with _runtime(settings, tmp_path, {}, policies) as pair:
        yield pair


@pytest.fixture
async def private_sla_rt(
    settings: Settings, tmp_path: Path, private_redis: str
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """On a Redis server of the test's own, for FLUSHALL."""
    async with _runtime(settings, tmp_path, {"redis_url": private_redis}) as pair:
        yield pair


@asynccontextmanager
async def _runtime(
    settings: Settings, tmp_path: Path, update: dict[str, Any], policies: str = POLICIES
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    path = tmp_path / "sla.yaml"
    path.write_text(policies)
    own = settings.model_copy(update={"sla_policies": path, **update})
    async with open_runtime(own, run_migrations=False) as rt:
        await rt.pool.flushdb()
        await _empty_tables(rt)
        app = create_app(own, lambda _s: None)  # type: ignore[arg-type,return-value]
        app.state.ctx = rt.app
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield rt, client
        await rt.pool.flushdb()


async def routed(rt: Runtime, client: httpx.AsyncClient, token: str, **fields: Any) -> int:
    """A billing question (routes to tier 1) unless fields say otherwise; routed and drained."""
    body = ticket_json(subject="Invoice copy", body="Please send the invoice again.")
    body.update(fields)
    r = await client.post("/api/v1/tickets", json=body, headers=auth(token))
    assert r.status_code == 202, r.text
    await drain(rt)
    return int(r.json()["id"])


async def fire_timers(rt: Runtime) -> int:
    """What the worker's ticker does every 200 ms, then run the jobs it enqueued."""
    fired = await tick(rt.pool)
    await drain(rt)
    return fired


async def clocks(rt: Runtime, ticket_id: int) -> dict[str, SlaClock]:
    async with rt.app.sessionmaker() as s:
        rows = await s.exec(select(SlaClock).where(SlaClock.ticket_id == ticket_id))
        return {c.kind: c for c in rows.all()}


async def trail(rt: Runtime, ticket_id: int) -> list[AuditEvent]:
    async with rt.app.sessionmaker() as s:
        rows = await s.exec(select(AuditEvent).where(AuditEvent.ticket_id == ticket_id).order_by(col(AuditEvent.seq)))
        return list(rows.all())


async def outbox(rt: Runtime, ticket_id: int) -> list[str]:
    async with rt.app.sessionmaker() as s:
        rows = await s.exec(select(OutboxEvent.type).where(OutboxEvent.ticket_id == ticket_id))
        return list(rows.all())
