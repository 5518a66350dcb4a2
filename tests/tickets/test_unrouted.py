"""Tickets not yet routed: agents may read them, only leads and admins act on them (API, UI and service)."""

from __future__ import annotations

import httpx
import pytest

from queues.runtime import Runtime
from router.errors import Forbidden
from router.models.tickets import Status
from router.tickets import messages
from router.tickets import service as tickets
from router.tickets.actors import Actor
from router.unit_of_work import commit
from tests.conftest import auth, make_agent
from tests.web.helpers import csrf_of, load, open_ticket, sign_in, web_agent

CHANGES = [
    ("messages", {"body": "We are on it."}),
    ("messages", {"body": "internal", "internal": True}),
    ("resolve", {"resolution": "done"}),
    ("wait", {"reason": "need logs"}),
    ("escalate", {"reason": "too hard"}),
]


@pytest.mark.parametrize(("action", "body"), CHANGES)
async def test_agents_read_but_do_not_change_unrouted_tickets(
    runtime: Runtime, client: httpx.AsyncClient, action: str, body: dict[str, object]
) -> None:
    ticket_id = await open_ticket(runtime, tier=None)
    _, token = await make_agent(runtime, tiers=(1, 2))
    assert (await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token))).status_code == 200
    r = await client.post(f"/api/v1/tickets/{ticket_id}/{action}", json=body, headers=auth(token))
    assert r.status_code == 403, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "not been routed" in r.json()["detail"]
    ticket = await load(runtime, ticket_id)
    assert ticket.status == Status.new and ticket.support_tier is None


async def test_leads_act_on_unrouted_tickets(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime, tier=None)
    _, token = await make_agent(runtime, role="lead", tiers=())
    r = await client.post(f"/api/v1/tickets/{ticket_id}/messages", json={"body": "Hello"}, headers=auth(token))
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/tickets/{ticket_id}/resolve", json={"resolution": "spam"}, headers=auth(token))
    assert r.status_code == 200 and r.json()["status"] == "resolved"


async def test_the_service_refuses_agents_on_unrouted_tickets(runtime: Runtime) -> None:
    """The rule lives in the ticket service, so every caller (API, UI, future ones) gets it."""
    ticket_id = await open_ticket(runtime, tier=None)
    agent, _ = await make_agent(runtime, tiers=(0, 1, 2, 3, 4))
    async with runtime.app.sessionmaker() as s:
        ticket = await tickets.get(s, ticket_id, lock=True)
        with pytest.raises(Forbidden):
            await messages.add_message(s, ticket, Actor.of(agent), body="hi", internal=False)
        with pytest.raises(Forbidden):
            await tickets.resolve(s, ticket, Actor.of(agent), resolution=None)
        # The system (routing, automation) still acts on them.
        await tickets.resolve(s, ticket, Actor.system(), resolution="duplicate")
        await commit(s, runtime.app.effects)


async def test_the_ui_shows_unrouted_tickets_without_actions_and_refuses_posts(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ticket_id = await open_ticket(runtime, tier=None)
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(client, agent)
    page = await client.get(f"/ui/tickets/{ticket_id}")
    assert page.status_code == 200
    assert f'action="/ui/tickets/{ticket_id}/resolve"' not in page.text
    assert f'action="/ui/tickets/{ticket_id}/messages"' not in page.text
    assert "not been routed" in page.text
    csrf = csrf_of(page.text)
    for action, form in (("resolve", {}), ("messages", {"body": "hi", "kind": "reply"})):
        r = await client.post(f"/ui/tickets/{ticket_id}/{action}", data={**form, "csrf_token": csrf})
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html"), r.text
        assert "not been routed" in r.text
    assert (await load(runtime, ticket_id)).status == Status.new
    lead = await web_agent(runtime, role="lead", tiers=())
    await sign_in(client, lead)
    page = await client.get(f"/ui/tickets/{ticket_id}")
    assert f'action="/ui/tickets/{ticket_id}/resolve"' in page.text
