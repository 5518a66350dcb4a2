"""Tier automation acknowledges a requester once per ticket; a tier move sends a distinct notice only when
``tier_move_notice`` is on, and never eats the per-address cap of acknowledgements."""

from __future__ import annotations

import httpx
from sqlmodel import col, select

from queues.runtime import Runtime
from queues.worker import drain
from router.automation import service as automation
from router.models.tickets import Message, Ticket
from router.tickets import service as tickets
from router.tickets.actors import Actor
from router.unit_of_work import commit
from tests.conftest import auth, make_agent, make_customer, ticket_json

REQUESTER = "kim@acme.example"


async def _open(client: httpx.AsyncClient, token: str, subject: str = "Dashboard question") -> int:
    body = ticket_json(subject=subject, body="Where is the export button?", requester_email=REQUESTER)
    accepted = await client.post("/api/v1/tickets", json=body, headers=auth(token))
    assert accepted.status_code == 202, accepted.text
    return int(accepted.json()["id"])


async def _move_up_and_down(runtime: Runtime, client: httpx.AsyncClient, token: str, ticket_id: int) -> None:
    """Escalate twice and de-escalate twice, letting the workers run after each move."""
    for path in ("escalate", "escalate", "deescalate", "deescalate"):
        moved = await client.post(f"/api/v1/tickets/{ticket_id}/{path}", json={"reason": "test"}, headers=auth(token))
        assert moved.status_code == 200, moved.text
        await drain(runtime)


async def _outbound(runtime: Runtime, ticket_id: int, kind: str) -> list[Message]:
    async with runtime.app.sessionmaker() as s:
        query = select(Message).where(Message.ticket_id == ticket_id, Message.kind == kind).order_by(col(Message.id))
        return list((await s.exec(query)).all())


async def test_a_ticket_moved_up_and_down_is_acknowledged_once(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await make_customer(runtime, ref="acme", tier=2, domain="acme.example")
    _, lead = await make_agent(runtime, role="lead", tiers=(0, 1, 2, 3, 4))
    ticket_id = await _open(client, lead)
    await drain(runtime)
    await _move_up_and_down(runtime, client, lead, ticket_id)

    assert len(await _outbound(runtime, ticket_id, automation.KIND)) == 1
    assert await _outbound(runtime, ticket_id, automation.NOTICE_KIND) == []
    # The moves ate none of the requester's daily automatic replies: the next ticket is acknowledged.
    runtime.app.settings = runtime.app.settings.model_copy(update={"auto_replies_per_address_per_day": 2})
    next_id = await _open(client, lead, subject="Another question")
    await drain(runtime)
    assert len(await _outbound(runtime, next_id, automation.KIND)) == 1


async def test_tier_move_notices_when_configured(runtime: Runtime, client: httpx.AsyncClient) -> None:
    runtime.app.settings = runtime.app.settings.model_copy(update={"tier_move_notice": True})
    await make_customer(runtime, ref="acme", tier=2, domain="acme.example")
    _, lead = await make_agent(runtime, role="lead", tiers=(0, 1, 2, 3, 4))
    ticket_id = await _open(client, lead)
    await drain(runtime)
    await _move_up_and_down(runtime, client, lead, ticket_id)

    [acknowledgement] = await _outbound(runtime, ticket_id, automation.KIND)
    notices = await _outbound(runtime, ticket_id, automation.NOTICE_KIND)
    assert len(notices) == 4
    assert "received your request" in acknowledgement.body_text
    for notice in notices:
        assert "received your request" not in notice.body_text
        assert "moved" in notice.body_text
    # Notices are automatic mail but not acknowledgements: the next ticket is still acknowledged.
    runtime.app.settings = runtime.app.settings.model_copy(update={"auto_replies_per_address_per_day": 2})
    next_id = await _open(client, lead, subject="Another question")
    await drain(runtime)
    assert len(await _outbound(runtime, next_id, automation.KIND)) == 1


async def test_the_batched_job_does_not_acknowledge_a_moved_ticket_again(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await make_customer(runtime, ref="acme", tier=2, domain="acme.example")
    agent, lead = await make_agent(runtime, role="lead", tiers=(0, 1, 2, 3, 4))
    ticket_id = await _open(client, lead)
    await drain(runtime)
    async with runtime.app.sessionmaker() as s:
        ticket = await tickets.get(s, ticket_id, lock=True)
        assert ticket.support_tier is not None
        target = ticket.support_tier + 1
        await tickets.escalate(s, ticket, Actor.of(agent), reason="test")
        await commit(s, runtime.app.effects)
    # The batched intake job of the new tier finds the moved ticket waiting (its range covers it).
    async with runtime.app.sessionmaker() as s:
        settings, templates = runtime.app.settings, runtime.app.templates
        await automation.run_batch(s, target, templates=templates, settings=settings, up_to=ticket_id)
        await commit(s, runtime.app.effects)
    assert len(await _outbound(runtime, ticket_id, automation.KIND)) == 1
    async with runtime.app.sessionmaker() as s:
        assert (await s.get(Ticket, ticket_id)).automation_tier is None  # type: ignore[union-attr]
