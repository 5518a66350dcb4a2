"""Saved views (``/api/v1/views``): an agent's own, shared ones set by leads, filters validated as the
ticket list validates them, and a view's tickets only ever within the tiers of whoever applies it."""

from __future__ import annotations

import httpx

from queues.runtime import Runtime
from router.models.workspace import SavedView
from router.unit_of_work import commit
from tests.conftest import auth, make_agent
from tests.workspace import factories


async def test_an_agent_saves_lists_applies_and_deletes_a_view(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, tiers=(1,))
    urgent = await factories.ticket(runtime, subject="Down", priority="urgent")
    await factories.ticket(runtime, subject="Slow", priority="low")
    body = {"name": "Urgent ones", "filters": {"priority": ["urgent"], "sort": "oldest"}}
    r = await client.post("/api/v1/views", json=body, headers=auth(token))
    assert r.status_code == 201, r.text
    view = r.json()
    assert view["mine"] is True and view["shared"] is False
    assert view["filters"]["priority"] == ["urgent"] and view["filters"]["sort"] == "oldest"

    listed = await client.get("/api/v1/views", headers=auth(token))
    assert [v["id"] for v in listed.json()] == [view["id"]]
    tickets = await client.get(f"/api/v1/views/{view['id']}/tickets", headers=auth(token))
    assert tickets.status_code == 200, tickets.text
    assert [t["id"] for t in tickets.json()["items"]] == [urgent.id]

    again = await client.post("/api/v1/views", json=body, headers=auth(token))
    assert again.status_code == 409
    gone = await client.delete(f"/api/v1/views/{view['id']}", headers=auth(token))
    assert gone.status_code == 204
    assert (await client.get("/api/v1/views", headers=auth(token))).json() == []


async def test_only_leads_share_and_everyone_sees_shared_views(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, agent = await make_agent(runtime, tiers=(1,))
    _, peer = await make_agent(runtime, tiers=(1,))
    _, lead = await make_agent(runtime, role="lead", tiers=())
    refused = await client.post("/api/v1/views", json={"name": "Mine for all", "shared": True}, headers=auth(agent))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    shared = (await client.post("/api/v1/views", json={"name": "Team", "shared": True}, headers=auth(lead))).json()
    private = (await client.post("/api/v1/views", json={"name": "Private"}, headers=auth(agent))).json()

    seen_by_peer = (await client.get("/api/v1/views", headers=auth(peer))).json()
    assert [(v["id"], v["mine"]) for v in seen_by_peer] == [(shared["id"], False)]
    # Another agent's private view does not exist for a peer; a shared one is not theirs to delete.
    assert (await client.get(f"/api/v1/views/{private['id']}/tickets", headers=auth(peer))).status_code == 404
    assert (await client.delete(f"/api/v1/views/{private['id']}", headers=auth(peer))).status_code == 404
    assert (await client.delete(f"/api/v1/views/{shared['id']}", headers=auth(peer))).status_code == 403
    _, other_lead = await make_agent(runtime, role="lead", tiers=())
    assert (await client.delete(f"/api/v1/views/{shared['id']}", headers=auth(other_lead))).status_code == 204


async def test_a_shared_view_shows_each_agent_only_their_tiers(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, tier1 = await make_agent(runtime, tiers=(1,))
    _, lead = await make_agent(runtime, role="lead", tiers=())
    own = await factories.ticket(runtime, subject="Refund please", tier=1)
    expert = await factories.ticket(runtime, subject="Refund engine broken", tier=3)
    everything = {"name": "All refunds", "shared": True, "filters": {"q": "refund"}}
    view = (await client.post("/api/v1/views", json=everything, headers=auth(lead))).json()
    tier3 = {"name": "Tier 3", "shared": True, "filters": {"support_tier": 3}}
    only3 = (await client.post("/api/v1/views", json=tier3, headers=auth(lead))).json()

    as_lead = await client.get(f"/api/v1/views/{view['id']}/tickets", headers=auth(lead))
    assert sorted(t["id"] for t in as_lead.json()["items"]) == sorted([own.id, expert.id])
    as_agent = await client.get(f"/api/v1/views/{view['id']}/tickets", headers=auth(tier1))
    assert [t["id"] for t in as_agent.json()["items"]] == [own.id]
    assert (await client.get(f"/api/v1/views/{only3['id']}/tickets", headers=auth(tier1))).json()["items"] == []


async def test_view_filters_are_checked_like_the_list(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent, token = await make_agent(runtime, tiers=(1,))
    for body in (
        {"name": "x", "filters": {"priority": ["extreme"]}},
        {"name": "x", "filters": {"colour": "red"}},
        {"name": "x", "filters": {"sort": "relevance"}},
        {"name": "", "filters": {}},
        {"name": "x" * 101},
        {"name": "x", "owner_id": 1},
    ):
        r = await client.post("/api/v1/views", json=body, headers=auth(token))
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    # A view stored with filters this version no longer accepts answers a 409, not a 500.
    async with runtime.app.sessionmaker() as s:
        assert agent.id is not None
        stale = SavedView(owner_id=agent.id, name="old", filters={"priority": ["old-word"]})
        s.add(stale)
        await commit(s, runtime.app.effects)
        stale_id = stale.id
    assert (await client.get(f"/api/v1/views/{stale_id}/tickets", headers=auth(token))).status_code == 409
    assert (await client.get("/api/v1/views/99999999999/tickets", headers=auth(token))).status_code == 422
