"""Web UI pages and actions over ASGI: queues, claim, the ticket page, every action, access, inert HTML."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import col, select

from queues.runtime import Runtime
from router.models.audit import AuditEvent
from router.models.tickets import Message, Status
from router.tickets import service as tickets
from router.tickets.inputs import StoredAttachment
from router.unit_of_work import commit
from router.web import live, views
from tests.conftest import one_backend
from tests.web.helpers import load, open_ticket, sign_in, web_agent


async def _events(runtime: Runtime, ticket_id: int) -> list[AuditEvent]:
    async with runtime.app.sessionmaker() as s:
        rows = await s.exec(select(AuditEvent).where(AuditEvent.ticket_id == ticket_id).order_by(col(AuditEvent.seq)))
        return list(rows.all())


async def test_my_queues_lists_the_agents_tiers_with_depth(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await open_ticket(runtime, tier=1)
    await open_ticket(runtime, tier=1)
    await open_ticket(runtime, tier=2)
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(client, agent)
    html = (await client.get("/ui/")).text
    assert 'data-depth-tier="1">2<' in html
    assert "/ui/queues/2" not in html
    lead = await web_agent(runtime, role="lead", tiers=())
    await sign_in(client, lead)
    html = (await client.get("/ui/")).text
    assert all(f"/ui/queues/{t}" in html for t in range(5))
    assert 'data-depth-tier="2">1<' in html


async def test_queue_page_in_claim_order_paginated(
    runtime: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    low = await open_ticket(runtime, subject="low one", priority="low")
    urgent = await open_ticket(runtime, subject="urgent one", priority="urgent")
    normal = await open_ticket(runtime, subject="normal one")
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(client, agent)
    first = (await client.get("/ui/queues/1")).text
    assert first.index(f"/ui/tickets/{urgent}") < first.index(f"/ui/tickets/{normal}")
    assert f"/ui/tickets/{low}" not in first
    assert "page 1 of 2" in first and 'rel="next"' in first
    second = (await client.get("/ui/queues/1?page=2")).text
    assert f"/ui/tickets/{low}" in second and 'rel="prev"' in second
    assert "3 · break-even" in second  # the customer tier badge


async def test_claim_next_takes_the_head_and_opens_it(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await open_ticket(runtime, subject="second", priority="low")
    head = await open_ticket(runtime, subject="first", priority="high")
    agent = await web_agent(runtime, tiers=(1,))
    token = await sign_in(client, agent)
    r = await client.post("/ui/queues/1/claim", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == f"/ui/tickets/{head}"
    page = (await client.get(r.headers["location"])).text
    assert "You claimed T-" in page
    ticket = await load(runtime, head)
    assert ticket.status == Status.in_progress and ticket.assignee_id == agent.id
    await client.post("/ui/queues/1/claim", data={"csrf_token": token})
    r = await client.post("/ui/queues/1/claim", data={"csrf_token": token})
    assert r.headers["location"] == "/ui/queues/1"
    assert "queue is empty" in (await client.get("/ui/queues/1")).text


async def test_ticket_page_shows_conversation_customer_routing_and_verified_audit(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    from tests.conftest import make_customer

    customer = await make_customer(runtime, ref="globex", tier=1, domain="globex.example")
    async with runtime.app.sessionmaker() as s:
        ticket = await tickets.open_ticket(
            s,
            subject="Checkout broken",
            body="Nothing works",
            requester_email="ops@globex.example",
            customer_id=customer.id,
            customer_tier=1,
            priority_hint=None,
            channel="email",
            source="test",
            external_id=None,
            actor=tickets.Actor.system(),
            context=tickets.TicketContext(),
        )
        await commit(s, runtime.app.effects)
    from queues.worker import drain

    await drain(runtime)
    lead = await web_agent(runtime, role="lead", tiers=())
    await sign_in(client, lead)
    html = (await client.get(f"/ui/tickets/{ticket.id}")).text
    assert "Nothing works" in html
    assert "Globex" in html and "1 · strategic partner" in html and "onboarding" in html
    assert "Why this tier" in html and "rulebook" in html
    assert "Hash chain verified: 3 events, intact" in html  # created, routed, automation
    assert "routed" in html


async def test_untrusted_subject_and_html_stay_inert(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(
        runtime,
        subject="<script>alert('subject')</script>",
        body="<b>text</b>",
        html='<p>hi</p><img src=x onerror="alert(1)"><script>alert(2)</script><a href="javascript:alert(3)">x</a>',
    )
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(client, agent)
    for url in ("/ui/queues/1", f"/ui/tickets/{ticket_id}"):
        r = await client.get(url)
        assert "&lt;script&gt;alert(&#39;subject&#39;)&lt;/script&gt;" in r.text
        assert "<script>alert" not in r.text and "onerror" not in r.text and "javascript:" not in r.text
        assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "<p>hi</p>" in r.text  # sanitized HTML is still shown as HTML


async def test_agents_cannot_see_or_act_on_other_tiers(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime, tier=3)
    agent = await web_agent(runtime, tiers=(1,))
    token = await sign_in(client, agent)
    for url in (f"/ui/tickets/{ticket_id}", "/ui/queues/3"):
        r = await client.get(url)
        assert r.status_code == 403 and "you do not work support tier 3" in r.text
    r = await client.post(f"/ui/tickets/{ticket_id}/resolve", data={"csrf_token": token})
    assert r.status_code == 403
    r = await client.post("/ui/queues/3/claim", data={"csrf_token": token})
    assert r.status_code == 403
    assert (await load(runtime, ticket_id)).status == Status.queued
    lead = await web_agent(runtime, role="lead", tiers=())
    await sign_in(client, lead)
    assert (await client.get(f"/ui/tickets/{ticket_id}")).status_code == 200


async def test_reply_note_wait_resolve_reopen(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime)
    agent = await web_agent(runtime, tiers=(1,))
    token = await sign_in(client, agent)
    base = f"/ui/tickets/{ticket_id}"
    steps = [
        ("messages", {"body": "We are on it.", "kind": "reply"}, "replied"),
        ("messages", {"body": "Looks like the SSO cert.", "kind": "note"}, "note_added"),
        ("wait", {"reason": "asked for logs"}, "waiting_on_customer"),
        ("resolve", {"resolution": "cert renewed"}, "resolved"),
        ("reopen", {"reason": "came back"}, "reopened"),
    ]
    for action, data, audited in steps:
        r = await client.post(f"{base}/{action}", data={**data, "csrf_token": token})
        assert r.status_code == 303, r.text
        assert r.headers["location"] == base
        assert (await _events(runtime, ticket_id))[-1].action == audited
    async with runtime.app.sessionmaker() as s:
        msgs = (await s.exec(select(Message).where(Message.ticket_id == ticket_id).order_by(col(Message.id)))).all()
    assert [(m.direction, m.delivery_status) for m in msgs[1:]] == [("outbound", "pending"), ("note", None)]
    html = (await client.get(base)).text
    assert "We are on it." in html and "internal note" in html and "“cert renewed”" in html
    r = await client.post(f"{base}/messages", data={"body": "   ", "kind": "reply", "csrf_token": token})
    assert r.status_code == 422


async def test_escalate_needs_a_reason_and_moves_the_ticket(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime)
    agent = await web_agent(runtime, tiers=(1,))
    token = await sign_in(client, agent)
    url = f"/ui/tickets/{ticket_id}/escalate"
    r = await client.post(url, data={"to_tier": "2", "reason": " ", "csrf_token": token})
    assert r.status_code == 422
    r = await client.post(url, data={"to_tier": "1", "reason": "sideways", "csrf_token": token})
    assert r.status_code == 409 and "escalation goes up" in r.text
    r = await client.post(url, data={"to_tier": "2", "reason": "needs the\x00 database team", "csrf_token": token})
    assert r.status_code == 303
    assert r.headers["location"] == "/ui/queues/1"  # the agent does not work tier 2
    ticket = await load(runtime, ticket_id)
    assert ticket.support_tier == 2 and ticket.status == Status.queued
    last = (await _events(runtime, ticket_id))[-1]
    assert (last.action, last.from_tier, last.to_tier, last.reason) == ("escalated", 1, 2, "needs the database team")
    assert await runtime.app.tier_queue.page(2, 0, 10) == [ticket_id]
    assert await runtime.app.tier_queue.page(1, 0, 10) == []


async def test_leads_deescalate_and_reassign(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime, tier=2)
    tess = await web_agent(runtime, tiers=(2,), name="Tess")
    frank = await web_agent(runtime, tiers=(1,), name="Frank")
    token = await sign_in(client, tess)
    r = await client.post(
        f"/ui/tickets/{ticket_id}/reassign", data={"agent_id": str(tess.id), "reason": "mine", "csrf_token": token}
    )
    assert r.status_code == 403
    html = (await client.get(f"/ui/tickets/{ticket_id}")).text
    assert "Reassign" not in html and "De-escalate" not in html
    lead = await web_agent(runtime, role="lead", tiers=())
    token = await sign_in(client, lead)
    html = (await client.get(f"/ui/tickets/{ticket_id}")).text
    assert "Tess" in html and "Frank" not in html  # only agents of the ticket's tier are offered
    base = f"/ui/tickets/{ticket_id}"
    r = await client.post(f"{base}/reassign", data={"agent_id": str(frank.id), "reason": "x", "csrf_token": token})
    assert r.status_code == 409
    r = await client.post(f"{base}/reassign", data={"agent_id": str(tess.id), "reason": "expert", "csrf_token": token})
    assert r.status_code == 303
    ticket = await load(runtime, ticket_id)
    assert ticket.assignee_id == tess.id and ticket.status == Status.in_progress
    assert await runtime.app.tier_queue.depth(2) == 0
    last = (await _events(runtime, ticket_id))[-1]
    assert (last.action, last.data["to_agent"], last.reason) == ("reassigned", tess.id, "expert")
    r = await client.post(f"{base}/deescalate", data={"to_tier": "1", "reason": "simpler", "csrf_token": token})
    assert r.status_code == 303
    ticket = await load(runtime, ticket_id)
    assert ticket.support_tier == 1 and ticket.status == Status.queued and ticket.assignee_id is None


async def test_attachments_download_and_never_render(runtime: Runtime, client: httpx.AsyncClient) -> None:
    data = b"<html><script>alert(1)</script></html>"
    digest = runtime.app.blobs.put(data)
    async with runtime.app.sessionmaker() as s:
        ticket = await tickets.open_ticket(
            s,
            subject="see file",
            body="attached",
            requester_email="pat@customer.example",
            customer_id=None,
            customer_tier=3,
            priority_hint=None,
            channel="email",
            source="test",
            external_id=None,
            actor=tickets.Actor.system(),
            context=tickets.TicketContext(),
            mail=tickets.MailDetails(attachments=(StoredAttachment("page.html", "text/html", len(data), digest),)),
        )
        await commit(s, runtime.app.effects)
    other = await open_ticket(runtime, tier=None)
    lead = await web_agent(runtime, role="lead", tiers=())
    await sign_in(client, lead)
    html = (await client.get(f"/ui/tickets/{ticket.id}")).text
    link = html.split('href="/ui/tickets/', 2)[1].split('"')[0]
    r = await client.get(f"/ui/tickets/{link}")
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''page.html"
    attachment_id = link.rsplit("/", 1)[1]
    assert (await client.get(f"/ui/tickets/{other}/attachments/{attachment_id}")).status_code == 404


@one_backend
async def test_live_stream_reports_changed_tiers(runtime: Runtime) -> None:
    queue = runtime.app.tier_queue
    stream = live.tier_events(queue, [1, 2], poll_seconds=0.02, max_seconds=5)
    assert await anext(stream) == "retry: 3000\n\n"
    first = [json.loads((await anext(stream)).split("data: ")[1]) for _ in range(2)]
    assert [(e["tier"], e["depth"]) for e in first] == [(1, 0), (2, 0)]
    ticket_id = await open_ticket(runtime, tier=2)
    event = await asyncio.wait_for(anext(stream), timeout=3)
    assert event.startswith("event: tier\n")
    assert json.loads(event.split("data: ")[1])["tier"] == 2
    assert json.loads(event.split("data: ")[1])["depth"] == 1
    assert ticket_id in await queue.page(2, 0, 5)
    await stream.aclose()


@one_backend
async def test_live_stream_needs_a_session(runtime: Runtime, client: httpx.AsyncClient) -> None:
    assert (await client.get("/ui/events")).status_code == 303


async def test_event_streams_are_not_timed_as_requests() -> None:
    from prometheus_client import REGISTRY
    from starlette.responses import PlainTextResponse, StreamingResponse
    from starlette.types import Receive, Scope, Send

    from router.metrics import RequestTimer

    async def one_event() -> AsyncIterator[str]:
        yield "event: tier\ndata: {}\n\n"

    def app_for(stream: bool) -> RequestTimer:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = (
                StreamingResponse(one_event(), media_type="text/event-stream") if stream else PlainTextResponse("")
            )
            await response(scope, receive, send)

        return RequestTimer(app)

    async def receive() -> dict[str, object]:
        await asyncio.sleep(1)  # the client stays connected
        return {"type": "http.disconnect"}

    async def send(_message: object) -> None:
        return None

    def count(method: str) -> float:
        labels = {"method": method, "status": "200"}
        return REGISTRY.get_sample_value("tierroute_http_request_seconds_count", labels) or 0.0

    for method, stream, added in (("STREAMCHECK", True, 0), ("PLAINCHECK", False, 1)):
        before = count(method)
        scope = {"type": "http", "method": method, "path": "/x", "headers": [], "query_string": b""}
        await app_for(stream)(scope, receive, send)
        assert count(method) - before == added


async def test_sla_clocks_show_on_the_queue_ticket_and_overview_pages(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    import time_machine

    with time_machine.travel("2026-11-23 09:00 +00:00", tick=True):  # a Monday, inside Berlin business hours
        tid = await open_ticket(runtime, subject="clocked")
        agent = await web_agent(runtime, tiers=(1,))
        await sign_in(client, agent)
        queue = (await client.get("/ui/queues/1")).text
        assert 'class="badge sla-ok"' in queue and " left" in queue
        page = (await client.get(f"/ui/tickets/{tid}")).text
        assert "first response" in page and "resolution" in page and "policy" in page
        overview = (await client.get("/ui/")).text
        assert "Near SLA breach" in overview
    with time_machine.travel("2026-11-26 09:00 +00:00", tick=True):  # days later: every clock is overdue
        await sign_in(client, agent)
        queue = (await client.get("/ui/queues/1")).text
        assert " over" in queue
        overview = (await client.get("/ui/")).text
        assert '<span class="num sla-near">1</span>' in overview
