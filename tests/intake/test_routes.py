"""JSON intake: acknowledged only after commit, idempotent by external id, clear problems for bad input."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from sqlmodel import col, func, select

from queues.runtime import Runtime
from queues.worker import drain
from router.models.audit import AuditEvent
from router.models.customers import CustomerContact
from router.models.intake import Delivery
from router.models.tickets import Message, Ticket
from tests.conftest import auth, make_agent, make_customer, ticket_json


async def count(runtime: Runtime, model: type) -> int:
    async with runtime.app.sessionmaker() as s:
        return int((await s.exec(select(func.count()).select_from(model))).one())


async def nothing_written(runtime: Runtime) -> bool:
    return all([await count(runtime, m) == 0 for m in (Ticket, Message, AuditEvent, Delivery)])


async def test_accepted_ticket_is_committed_routed_and_queued(runtime: Runtime, client: httpx.AsyncClient) -> None:
    """202 only once the ticket is committed, already routed in that transaction (``created`` and ``routed``
    events), and in its tier's Redis queue right after the commit: no route job on the way."""
    _, token = await make_agent(runtime)
    r = await client.post("/api/v1/tickets", json=ticket_json(channel="web"), headers=auth(token))
    assert r.status_code == 202
    assert r.headers["location"] == f"/api/v1/tickets/{r.json()['id']}"
    async with runtime.app.sessionmaker() as s:
        ticket = await s.get(Ticket, r.json()["id"])
        assert ticket is not None and ticket.status == "queued" and ticket.channel == "web"
        assert r.json()["status"] == "queued" and ticket.support_tier is not None
        assert ticket.customer_tier == runtime.app.settings.default_customer_tier
        events = (
            await s.exec(select(AuditEvent).where(AuditEvent.ticket_id == ticket.id).order_by(col(AuditEvent.seq)))
        ).all()
        assert [e.action for e in events] == ["created", "routed"]
        contact = await s.get(CustomerContact, "pat@customer.example")
        assert contact is not None and contact.customer_id is None
    assert await runtime.app.tier_queue.depth(ticket.support_tier) == 1
    assert not await runtime.pool.exists(f"arq:job:route:{r.json()['id']}")


async def test_customer_is_found_by_ref_and_by_domain(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    await make_customer(runtime, ref="globex", tier=1, domain="globex.example")
    by_domain = await client.post(
        "/api/v1/tickets", json=ticket_json(requester_email="Hank@Globex.example"), headers=auth(token)
    )
    by_ref = await client.post("/api/v1/tickets", json=ticket_json(customer_ref="globex"), headers=auth(token))
    for r in (by_domain, by_ref):
        ticket = (await client.get(f"/api/v1/tickets/{r.json()['id']}", headers=auth(token))).json()
        assert ticket["customer_tier"] == 1
    unknown_ref = await client.post("/api/v1/tickets", json=ticket_json(customer_ref="nope"), headers=auth(token))
    assert unknown_ref.status_code == 422
    assert unknown_ref.json()["field"] == "customer_ref"


async def test_same_external_id_returns_the_same_ticket(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime)
    first = await client.post("/api/v1/tickets", json=ticket_json(external_id="crm-42"), headers=auth(token))
    again = await client.post(
        "/api/v1/tickets", json=ticket_json(external_id="crm-42", subject="changed"), headers=auth(token)
    )
    assert first.json()["id"] == again.json()["id"]
    assert (first.json()["created"], again.json()["created"]) == (True, False)
    other_channel = await client.post(
        "/api/v1/tickets", json=ticket_json(external_id="crm-42", channel="chat"), headers=auth(token)
    )
    assert other_channel.json()["id"] != first.json()["id"]
    assert await count(runtime, Ticket) == 2


async def test_concurrent_duplicates_make_one_ticket(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime)
    replies = await asyncio.gather(
        *(client.post("/api/v1/tickets", json=ticket_json(external_id="dup-1"), headers=auth(token)) for _ in range(30))
    )
    assert {r.status_code for r in replies} == {202}
    assert len({r.json()["id"] for r in replies}) == 1
    assert await count(runtime, Ticket) == 1
    assert await count(runtime, AuditEvent) == 2  # created, routed: once
    assert sum([await runtime.app.tier_queue.depth(t) for t in range(5)]) == 1


BAD_BODIES = [
    ({"body": "x", "requester_email": "a@b.example"}, "body.subject"),
    (ticket_json(subject=""), "body.subject"),
    (ticket_json(requester_email="not-an-address"), "body.requester_email"),
    (ticket_json(priority="whenever"), "body.priority"),
    (ticket_json(channel="Bad Channel!"), "body.channel"),
    (ticket_json(unexpected="field"), "body.unexpected"),
    (ticket_json(subject=123), "body.subject"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_BODIES)
async def test_bad_fields_get_a_problem_naming_the_field(
    runtime: Runtime, client: httpx.AsyncClient, payload: dict[str, object], field: str
) -> None:
    _, token = await make_agent(runtime)
    r = await client.post("/api/v1/tickets", json=payload, headers=auth(token))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 422 and problem["title"] == "Invalid input"
    assert field in [e["field"] for e in problem["errors"]]
    assert field in problem["detail"]
    assert await nothing_written(runtime)


async def test_malformed_json_is_a_problem(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime)
    r = await client.post(
        "/api/v1/tickets", content=b'{"subject": "x",', headers={**auth(token), "content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["type"] == "json_invalid"
    assert await nothing_written(runtime)


async def test_wrong_content_type_is_415(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime)
    r = await client.post(
        "/api/v1/tickets", content=json.dumps(ticket_json()), headers={**auth(token), "content-type": "text/plain"}
    )
    assert r.status_code == 415
    assert r.headers["content-type"] == "application/problem+json"
    assert "application/json" in r.json()["detail"]
    assert await nothing_written(runtime)


async def test_body_over_one_mebibyte_is_413(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime)
    huge = ticket_json(body="x" * (1024 * 1024))
    r = await client.post("/api/v1/tickets", json=huge, headers=auth(token))
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"

    async def chunks():  # no Content-Length: the limit still holds while streaming
        payload = json.dumps(huge).encode()
        for i in range(0, len(payload), 65536):
            yield payload[i : i + 65536]

    streamed = await client.post(
        "/api/v1/tickets", content=chunks(), headers={**auth(token), "content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert await nothing_written(runtime)


async def test_intake_needs_a_token(runtime: Runtime, client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/tickets", json=ticket_json())
    assert r.status_code == 401
    assert await nothing_written(runtime)


async def test_a_rulebook_failure_at_intake_still_accepts_the_ticket_for_the_route_job(
    runtime: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rulebook is never a reason to refuse a ticket: evaluation failing at intake (an RE2 matcher out of
    memory, say) commits the ticket unrouted and leaves it to the ``ticket.route`` job, which routes it."""
    from rules import Rulebook

    _, token = await make_agent(runtime, role="lead", tiers=())
    real_evaluate = Rulebook.evaluate

    def failing(self: Rulebook, snapshot: object) -> object:
        raise RuntimeError("matcher out of memory")

    monkeypatch.setattr(Rulebook, "evaluate", failing)
    r = await client.post("/api/v1/tickets", json=ticket_json(), headers=auth(token))
    assert r.status_code == 202 and r.json()["status"] == "new"
    assert await runtime.pool.exists(f"arq:job:route:{r.json()['id']}")
    monkeypatch.setattr(Rulebook, "evaluate", real_evaluate)
    await drain(runtime)
    ticket = (await client.get(f"/api/v1/tickets/{r.json()['id']}", headers=auth(token))).json()
    assert ticket["status"] == "queued"
