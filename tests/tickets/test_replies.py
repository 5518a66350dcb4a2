"""One rule for a public reply on a finished ticket, in the API and the UI (issue 16 item 26).

As in Zendesk: a public reply on a *resolved* ticket reopens it (in the replying agent's hands), a
*closed* ticket is final (a reply is refused with 409; reopen it first); an internal note changes nothing.
"""

from __future__ import annotations

import httpx
from sqlalchemy import update

from queues.runtime import Runtime
from queues.worker import drain
from router.models.tickets import Status, Ticket
from router.unit_of_work import commit
from tests.conftest import auth, make_agent, ticket_json
from tests.web.helpers import load, open_ticket, sign_in, web_agent


async def _resolved(runtime: Runtime, client: httpx.AsyncClient, token: str) -> int:
    r = await client.post("/api/v1/tickets", json=ticket_json(), headers=auth(token))
    await drain(runtime)
    tid = int(r.json()["id"])
    resolved = await client.post(f"/api/v1/tickets/{tid}/resolve", json={"resolution": "fixed"}, headers=auth(token))
    assert resolved.json()["status"] == "resolved"
    return tid


async def _close(runtime: Runtime, ticket_id: int) -> None:
    """Nothing in the product closes tickets yet (the status exists for imports and integrations)."""
    async with runtime.app.sessionmaker() as s:
        await s.exec(update(Ticket).where(Ticket.id == ticket_id).values(status=Status.closed))  # type: ignore[call-overload]
        await commit(s, runtime.app.effects)


async def _actions(client: httpx.AsyncClient, tid: int, token: str) -> list[str]:
    return [e["action"] for e in (await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(token))).json()]


async def test_a_public_reply_reopens_a_resolved_ticket_to_the_replier(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    agent, token = await make_agent(runtime, role="lead", tiers=())
    tid = await _resolved(runtime, client, token)
    r = await client.post(f"/api/v1/tickets/{tid}/messages", json={"body": "One more thing"}, headers=auth(token))
    assert r.status_code == 201 and r.json()["direction"] == "outbound"
    ticket = (await client.get(f"/api/v1/tickets/{tid}", headers=auth(token))).json()
    assert (ticket["status"], ticket["assignee_id"], ticket["resolved_at"]) == ("in_progress", agent.id, None)
    assert ticket["sla"]["state"] != "stopped", ticket["sla"]  # the resolution clock runs again
    assert (await _actions(client, tid, token))[-3:] == ["resolved", "reopened", "replied"]
    assert (await load(runtime, tid)).reopen_count == 1


async def test_an_internal_note_leaves_a_resolved_ticket_resolved(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    tid = await _resolved(runtime, client, token)
    body = {"body": "for the record", "internal": True}
    assert (await client.post(f"/api/v1/tickets/{tid}/messages", json=body, headers=auth(token))).status_code == 201
    assert (await load(runtime, tid)).status == Status.resolved
    assert (await _actions(client, tid, token))[-1] == "note_added"


async def test_a_closed_ticket_refuses_a_public_reply(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    tid = await _resolved(runtime, client, token)
    await _close(runtime, tid)
    before = await _actions(client, tid, token)
    r = await client.post(f"/api/v1/tickets/{tid}/messages", json={"body": "hello?"}, headers=auth(token))
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    assert "closed" in r.json()["detail"] and "reopen it first" in r.json()["detail"]
    assert await _actions(client, tid, token) == before
    note = {"body": "noted", "internal": True}
    assert (await client.post(f"/api/v1/tickets/{tid}/messages", json=note, headers=auth(token))).status_code == 201
    assert (await load(runtime, tid)).status == Status.closed


async def test_the_ui_offers_the_reply_on_a_resolved_ticket_and_it_reopens(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tid = await open_ticket(runtime, tier=1)
    agent = await web_agent(runtime, tiers=(1,))
    token = await sign_in(client, agent)
    assert (await client.post(f"/ui/tickets/{tid}/resolve", data={"csrf_token": token})).status_code == 303
    page = (await client.get(f"/ui/tickets/{tid}")).text
    assert 'value="reply"' in page and "reopens the ticket" in page
    reply = {"body": "Back again", "kind": "reply", "csrf_token": token}
    r = await client.post(f"/ui/tickets/{tid}/messages", data=reply)
    assert r.status_code == 303
    ticket = await load(runtime, tid)
    assert (ticket.status, ticket.assignee_id) == (Status.in_progress, agent.id)
    assert "open again" in (await client.get(f"/ui/tickets/{tid}")).text


async def test_the_ui_hides_the_reply_on_a_closed_ticket_and_refuses_it(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    tid = await open_ticket(runtime, tier=1)
    agent = await web_agent(runtime, tiers=(1,))
    token = await sign_in(client, agent)
    await client.post(f"/ui/tickets/{tid}/resolve", data={"csrf_token": token})
    await _close(runtime, tid)
    page = (await client.get(f"/ui/tickets/{tid}")).text
    assert 'value="reply"' not in page and 'value="note"' in page
    r = await client.post(f"/ui/tickets/{tid}/messages", data={"body": "hi", "kind": "reply", "csrf_token": token})
    assert r.status_code == 409 and "reopen it first" in r.text
