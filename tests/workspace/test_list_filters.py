"""``GET /api/v1/tickets``: every filter selects exactly its tickets, every sort pages by cursor without
skipping or repeating, an agent sees only their tiers whatever they ask, and bad values are 422s."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
import pytest

from queues.runtime import Runtime
from tests.conftest import auth, make_agent
from tests.workspace import factories


async def _ids(client: httpx.AsyncClient, token: str, query: str) -> list[int]:
    r = await client.get(f"/api/v1/tickets?{query}", headers=auth(token))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    return [t["id"] for t in body["items"]]


@pytest.fixture
async def board(runtime: Runtime) -> dict[str, Any]:
    """Four tickets that differ in every field a filter reads, and who asks."""
    me, mine = await make_agent(runtime, tiers=(1, 2))
    _, lead = await make_agent(runtime, role="lead", tiers=())
    acme = await factories.customer(runtime, "acme", "Acme Rockets", 1)
    globex = await factories.customer(runtime, "globex", "Globex", 3)
    a = await factories.ticket(
        runtime, requester="ann@acme.example", owner=acme, priority="urgent", tags=("vip",), sla_state="breached"
    )
    b = await factories.ticket(runtime, requester="bob@globex.example", owner=globex, assignee=me, sla_state="warning")
    c = await factories.ticket(
        runtime, requester="ann@acme.example", owner=acme, tier=2, priority="high", tags=("billing",)
    )
    d = await factories.ticket(runtime, requester="carl@other.example", priority="low", age=timedelta(hours=48))
    return {"a": a.id, "b": b.id, "c": c.id, "d": d.id, "lead": lead, "mine": mine, "acme": acme.id}


FILTERS = [
    ("status=in_progress", "b"),
    ("status=queued&status=in_progress", "abcd"),
    ("support_tier=2", "c"),
    ("assignee=me", "b"),
    ("assignee=none", "acd"),
    ("customer={acme}", "ac"),
    ("requester=ANN@acme.example", "ac"),
    ("priority=urgent&priority=high", "ac"),
    ("priority=low", "d"),
    ("tag=vip", "a"),
    ("tag=billing", "c"),
    ("customer_tier=1", "ac"),
    ("customer_tier=3", "bd"),
    ("sla=breached", "a"),
    ("sla=warning", "b"),
    ("sla=ok", "cd"),
    ("sla=none", ""),
    ("min_age_hours=24", "d"),
    ("max_age_hours=24", "abc"),
    ("customer={acme}&priority=high", "c"),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS)
async def test_each_filter_selects_its_tickets(
    query: str, expected: str, board: dict[str, Any], client: httpx.AsyncClient
) -> None:
    # ``assignee=me`` is the agent's own; everything else is asked by an agent who works tiers 1 and 2.
    found = await _ids(client, board["mine"], query.format(acme=board["acme"]))
    assert sorted(found) == sorted(board[k] for k in expected)


async def test_an_agent_sees_only_their_tiers_whatever_they_filter(
    board: dict[str, Any], runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, tier1 = await make_agent(runtime, tiers=(1,))
    assert board["c"] not in await _ids(client, tier1, "")
    assert await _ids(client, tier1, "support_tier=2") == []
    assert await _ids(client, tier1, f"customer={board['acme']}") == [board["a"]]
    assert await _ids(client, tier1, "tag=billing") == []
    assert sorted(await _ids(client, board["lead"], "")) == sorted(board[k] for k in "abcd")


SORTS = ["newest", "oldest", "priority", "updated", "sla_due"]


@pytest.mark.parametrize("sort", SORTS)
async def test_every_sort_pages_by_cursor_without_skipping_or_repeating(
    sort: str, board: dict[str, Any], runtime: Runtime, client: httpx.AsyncClient
) -> None:
    for i in range(3):  # ties on the key: the id decides
        await factories.ticket(runtime, subject=f"Tie {i}", priority="urgent")
    whole = await _ids(client, board["lead"], f"sort={sort}&limit=200")
    assert len(whole) == 7
    seen: list[int] = []
    url = f"sort={sort}&limit=2"
    while url:
        r = await client.get(f"/api/v1/tickets?{url}", headers=auth(board["lead"]))
        assert r.status_code == 200, r.text
        seen += [t["id"] for t in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        url = f"sort={sort}&limit=2&cursor={cursor}" if cursor else ""
    assert seen == whole


async def test_sorts_put_the_right_ticket_first(board: dict[str, Any], client: httpx.AsyncClient) -> None:
    lead = board["lead"]
    assert (await _ids(client, lead, "sort=oldest"))[0] == board["a"]
    assert (await _ids(client, lead, "sort=newest"))[0] == board["d"]
    assert (await _ids(client, lead, "sort=priority"))[:2] == [board["a"], board["c"]]
    assert (await _ids(client, lead, "sort=priority"))[-1] == board["d"]


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "query",
    [
        "sort=relevance",
        "sort=sideways",
        "min_age_hours=-1",
        "max_age_hours=99999999999",
        "customer=0",
        "customer=99999999999",
        "customer_tier=5",
        "support_tier=9",
        "priority=extreme",
        "sla=late",
        "tag=",
        "q=" + "x" * 201,
        "q=%20",
        "assignee=nobody",
        f"sort=oldest&cursor={_cursor('before:5')}",
        f"sort=priority&cursor={_cursor('after:oldest:-:5')}",
        f"sort=priority&cursor={_cursor('after:priority:99999999999:5')}",
        f"sort=updated&cursor={_cursor('after:updated:yesterday:5')}",
        f"sort=updated&cursor={_cursor('after:updated:2026-01-01T00:00:00:5')}",
        f"sort=relevance&q=x&cursor={_cursor('after:relevance:nan:5')}",
        f"sort=oldest&cursor={_cursor('after:oldest:-:99999999999')}",
    ],
)
async def test_a_bad_filter_sort_or_cursor_is_a_422(query: str, runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    r = await client.get(f"/api/v1/tickets?{query}", headers=auth(lead))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
