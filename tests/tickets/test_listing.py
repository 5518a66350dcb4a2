"""``GET /api/v1/tickets``: "my claimed tickets" (``assignee=me``), another agent's for leads, the status
filter, and cursor pages that neither skip nor repeat a ticket and never answer a 500 (issue 16 item 11)."""

from __future__ import annotations

import base64

import httpx
import pytest

from queues.runtime import Runtime
from tests.conftest import auth, make_agent
from tests.web.helpers import open_ticket


async def _claim(client: httpx.AsyncClient, token: str, tier: int = 1) -> int:
    r = await client.post(f"/api/v1/queues/{tier}/claim", headers=auth(token))
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


async def test_assignee_me_lists_what_i_claimed(runtime: Runtime, client: httpx.AsyncClient) -> None:
    for i in range(4):
        await open_ticket(runtime, subject=f"Question {i}", tier=1)
    me, mine = await make_agent(runtime, tiers=(1,))
    _, theirs = await make_agent(runtime, tiers=(1,))
    claimed = [await _claim(client, mine), await _claim(client, mine)]
    other = await _claim(client, theirs)

    r = await client.get("/api/v1/tickets?assignee=me", headers=auth(mine))
    assert r.status_code == 200
    body = r.json()
    assert [t["id"] for t in body["items"]] == sorted(claimed, reverse=True)
    assert body["total"] == 2 and body["next_cursor"] is None
    assert all(t["assignee_id"] == me.id and t["status"] == "in_progress" for t in body["items"])

    by_id = await client.get(f"/api/v1/tickets?assignee={me.id}&status=in_progress", headers=auth(mine))
    assert [t["id"] for t in by_id.json()["items"]] == sorted(claimed, reverse=True)
    none_resolved = await client.get("/api/v1/tickets?assignee=me&status=resolved", headers=auth(mine))
    assert none_resolved.json()["items"] == []
    assert other not in [t["id"] for t in body["items"]]


async def test_another_agents_tickets_are_for_leads(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await open_ticket(runtime, tier=1)
    worker, token = await make_agent(runtime, tiers=(1,))
    _, peer = await make_agent(runtime, tiers=(1,))
    _, lead = await make_agent(runtime, role="lead", tiers=())
    claimed = await _claim(client, token)

    refused = await client.get(f"/api/v1/tickets?assignee={worker.id}", headers=auth(peer))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    seen = await client.get(f"/api/v1/tickets?assignee={worker.id}", headers=auth(lead))
    assert [t["id"] for t in seen.json()["items"]] == [claimed]


async def test_cursor_pages_neither_skip_nor_repeat_while_tickets_arrive(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ids = [await open_ticket(runtime, subject=f"Question {i}", tier=1) for i in range(5)]
    _, lead = await make_agent(runtime, role="lead", tiers=())
    seen: list[int] = []
    url = "/api/v1/tickets?limit=2"
    pages = 0
    while url:
        r = await client.get(url, headers=auth(lead))
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [t["id"] for t in page["items"]]
        pages += 1
        if pages == 1:  # a ticket arriving meanwhile does not shift the later pages
            await open_ticket(runtime, subject="Arrived meanwhile", tier=1)
        url = f"/api/v1/tickets?limit=2&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert seen == sorted(ids, reverse=True)
    assert pages == 3


@pytest.mark.parametrize(
    "query",
    [
        "cursor=not-a-cursor",
        "cursor=%00",
        f"cursor={base64.urlsafe_b64encode(b'before:9999999999').decode()}",
        f"cursor={base64.urlsafe_b64encode(b'before:0').decode()}",
        "cursor=" + "A" * 65,
        f"cursor={base64.urlsafe_b64encode(b'before:3').decode()}&offset=2",
        "assignee=someone",
        "assignee=9999999999",
        "assignee=-1",
        "status=nope",
    ],
)
async def test_a_bad_cursor_or_filter_is_a_422(query: str, runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    r = await client.get(f"/api/v1/tickets?{query}", headers=auth(lead))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
