"""Escalating at the top tier or de-escalating at tier 0 says so plainly (issue 16 item 24), in the API and the UI."""

from __future__ import annotations

import httpx

from queues.runtime import Runtime
from queues.worker import drain
from rules.vocabulary import MAX_SUPPORT_TIER, MIN_SUPPORT_TIER
from tests.conftest import auth, make_agent, ticket_json
from tests.web.helpers import open_ticket, sign_in, web_agent


async def _routed(runtime: Runtime, client: httpx.AsyncClient, token: str) -> int:
    r = await client.post("/api/v1/tickets", json=ticket_json(), headers=auth(token))
    await drain(runtime)
    return int(r.json()["id"])


async def test_escalating_a_top_tier_ticket_says_it_is_at_the_top(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await _routed(runtime, client, lead)
    url = f"/api/v1/tickets/{tid}/escalate"
    top = await client.post(url, json={"reason": "vendor bug", "to_tier": MAX_SUPPORT_TIER}, headers=auth(lead))
    assert top.status_code == 200
    for body in ({"reason": "more"}, {"reason": "more", "to_tier": MAX_SUPPORT_TIER}):
        r = await client.post(url, json=body, headers=auth(lead))
        assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert "already at the top tier" in problem["detail"], problem
        assert "above" not in problem["detail"] and "at most" not in problem["detail"], problem
        assert problem["tier"] == MAX_SUPPORT_TIER and "to_tier" not in problem


async def test_deescalating_a_tier_zero_ticket_says_it_is_at_tier_zero(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await _routed(runtime, client, lead)
    url = f"/api/v1/tickets/{tid}/deescalate"
    bottom = await client.post(url, json={"reason": "a how-to", "to_tier": MIN_SUPPORT_TIER}, headers=auth(lead))
    assert bottom.status_code == 200
    for body in ({"reason": "lower"}, {"reason": "lower", "to_tier": MIN_SUPPORT_TIER}):
        r = await client.post(url, json=body, headers=auth(lead))
        assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert f"already at tier {MIN_SUPPORT_TIER}" in problem["detail"], problem
        assert "below" not in problem["detail"] and "at least" not in problem["detail"], problem
        assert problem["tier"] == MIN_SUPPORT_TIER and "to_tier" not in problem  # no ``to_tier: -1``


async def test_a_wrong_direction_names_the_tiers_that_work(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await _routed(runtime, client, lead)  # the default ticket says "error": tier 2
    up = await client.post(f"/api/v1/tickets/{tid}/escalate", json={"reason": "r", "to_tier": 1}, headers=auth(lead))
    assert up.status_code == 409 and "choose tier 3 or 4" in up.json()["detail"], up.json()
    down = await client.post(
        f"/api/v1/tickets/{tid}/deescalate", json={"reason": "r", "to_tier": 3}, headers=auth(lead)
    )
    assert down.status_code == 409 and "choose tier 0 or 1" in down.json()["detail"], down.json()


async def test_the_ui_says_the_same_words(runtime: Runtime, client: httpx.AsyncClient) -> None:
    top = await open_ticket(runtime, tier=MAX_SUPPORT_TIER)
    bottom = await open_ticket(runtime, tier=MIN_SUPPORT_TIER)
    lead = await web_agent(runtime, role="lead", tiers=())
    token = await sign_in(client, lead)
    r = await client.post(f"/ui/tickets/{top}/escalate", data={"to_tier": "4", "reason": "more", "csrf_token": token})
    assert r.status_code == 409 and "text/html" in r.headers["content-type"]
    assert "already at the top tier" in r.text
    r = await client.post(
        f"/ui/tickets/{bottom}/deescalate", data={"to_tier": "0", "reason": "less", "csrf_token": token}
    )
    assert r.status_code == 409 and "already at tier 0" in r.text
