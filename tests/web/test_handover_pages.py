"""Taking and handing over in the web UI (issue 17 item 4): the ticket page's take, release, priority and
tags forms, and what an agent may not do."""

from __future__ import annotations

import httpx

from queues.runtime import Runtime
from router.models.tickets import Status
from tests.web.helpers import load, open_ticket, sign_in, web_agent


async def test_take_release_priority_and_tags_from_the_ticket_page(runtime: Runtime, client: httpx.AsyncClient) -> None:
    head = await open_ticket(runtime, subject="head", priority="urgent")
    chosen = await open_ticket(runtime, subject="chosen")
    agent = await web_agent(runtime, tiers=(1,))
    token = await sign_in(client, agent)
    page = (await client.get(f"/ui/tickets/{chosen}")).text
    assert "Take this ticket" in page and "Release" not in page

    r = await client.post(f"/ui/tickets/{chosen}/take", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == f"/ui/tickets/{chosen}"
    page = (await client.get(r.headers["location"])).text
    assert "You took T-" in page and "Take this ticket" not in page and "Release to the queue" in page
    assert (await load(runtime, chosen)).assignee_id == agent.id
    assert await runtime.app.tier_queue.page(1, 0, 10) == [head]

    r = await client.post(f"/ui/tickets/{chosen}/priority", data={"priority": "high", "csrf_token": token})
    assert r.status_code == 303
    r = await client.post(f"/ui/tickets/{chosen}/tags", data={"tags": "billing, VIP", "csrf_token": token})
    assert r.status_code == 303
    page = (await client.get(f"/ui/tickets/{chosen}")).text
    assert 'value="billing vip"' in page and "priority changed" in page and "tags changed" in page

    r = await client.post(f"/ui/tickets/{chosen}/release", data={"reason": "", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/ui/queues/1"
    assert "is back in the tier 1 queue" in (await client.get("/ui/queues/1")).text
    ticket = await load(runtime, chosen)
    assert (ticket.status, ticket.assignee_id, ticket.priority) == (Status.queued, None, "high")
    assert await runtime.app.tier_queue.page(1, 0, 10) == [head, chosen]


async def test_no_take_button_where_the_policy_says_claim_next(runtime: Runtime, client: httpx.AsyncClient) -> None:
    runtime.app.settings = runtime.app.settings.model_copy(update={"take_policy": ["agents", "leads"] + ["agents"] * 3})
    ticket_id = await open_ticket(runtime)
    agent = await web_agent(runtime, tiers=(1,))
    token = await sign_in(client, agent)
    assert "Take this ticket" not in (await client.get(f"/ui/tickets/{ticket_id}")).text
    r = await client.post(f"/ui/tickets/{ticket_id}/take", data={"csrf_token": token})
    assert r.status_code == 403 and "claim the next one instead" in r.text and "<html" in r.text
    other = await open_ticket(runtime, tier=2)
    r = await client.post(f"/ui/tickets/{other}/priority", data={"priority": "urgent", "csrf_token": token})
    assert r.status_code == 403 and "you do not work support tier 2" in r.text
    assert (await load(runtime, other)).priority == "normal"
