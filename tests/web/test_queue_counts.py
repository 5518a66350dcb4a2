"""Queue pages past the end, and what My queues counts (issue 16 item 27)."""

from __future__ import annotations

import httpx
import pytest
import time_machine

from queues.runtime import Runtime
from router.web import views
from tests.web.helpers import open_ticket, sign_in, web_agent


async def test_a_page_past_the_end_goes_to_the_last_page(
    runtime: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for n in range(3):
        await open_ticket(runtime, subject=f"ticket {n}")
    agent = await web_agent(runtime, tiers=(1, 2))
    await sign_in(client, agent)
    r = await client.get("/ui/queues/1?page=3")
    assert r.status_code == 303 and r.headers["location"] == "/ui/queues/1?page=2"
    last = (await client.get(r.headers["location"])).text
    assert "page 2 of 2" in last and "page 3 of 2" not in last
    assert "Page 3 is past the end of this queue" in last
    empty = await client.get("/ui/queues/2?page=2")
    assert empty.status_code == 303 and empty.headers["location"] == "/ui/queues/2?page=1"
    assert "page 1 of 1" in (await client.get("/ui/queues/2?page=1")).text
    assert (await client.get("/ui/queues/1?page=2")).status_code == 200


async def test_near_breach_counts_the_waiting_tickets_it_sits_beside(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    with time_machine.travel("2026-11-23 09:00 +00:00", tick=True):  # a Monday, inside business hours
        for n in range(3):
            await open_ticket(runtime, subject=f"clocked {n}")
        agent = await web_agent(runtime, tiers=(1,))
        token = await sign_in(client, agent)
        assert (await client.post("/ui/queues/1/claim", data={"csrf_token": token})).status_code == 303
    with time_machine.travel("2026-11-26 09:00 +00:00", tick=True):  # days later: every clock is overdue
        await sign_in(client, agent)
        overview = (await client.get("/ui/")).text
        assert 'data-depth-tier="1">2<' in overview
        assert '<span class="num sla-near">2</span>' in overview, overview  # not 3: the claimed one is not waiting
        assert "of the waiting tickets" in overview  # the caption says what each column counts
