"""``POST /api/v1/customers/{id}/tier``: leads move a customer (audited like a review's move), agents get a 403
problem; a slip reaches webhook subscriptions once per change, signed."""

from __future__ import annotations

import httpx

from queues.runtime import Runtime
from queues.worker import drain
from router.customers import review
from router.unit_of_work import commit
from rules.review_periods import parse_period
from tests.conftest import auth, make_agent, make_customer
from tests.customers.tiers_helpers import add_monthly, tier_policy, trail
from tests.webhooks.helpers import configure, new_secret
from tests.webhooks.test_outbound import Receiver, receiver

__all__ = ["receiver"]  # the loopback receiver fixture


async def test_a_lead_moves_a_customer_an_agent_may_not(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead, lead_token = await make_agent(runtime, role="lead", tiers=())
    _, agent_token = await make_agent(runtime, role="agent", tiers=(1,))
    made = await make_customer(runtime, ref="acme", tier=2, domain="acme.example")
    url = f"/api/v1/customers/{made.id}/tier"

    r = await client.post(url, json={"tier": 3, "reason": "contract downgraded"}, headers=auth(lead_token))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["value_tier"], body["onboarding_tier"], body["highest_tier"]) == (3, 2, 2)
    step = body["tier_history"][-1]
    assert step == {
        "from_tier": 2,
        "to_tier": 3,
        "reason": "contract downgraded",
        "at": step["at"],
        "source": "manual",
        "actor": f"agent:{lead.id}",
        "policy_version": None,
        "score": None,
    }

    denied = await client.post(url, json={"tier": 1, "reason": "friend of mine"}, headers=auth(agent_token))
    assert denied.status_code == 403 and denied.headers["content-type"] == "application/problem+json"
    for wrong in ({"tier": 5, "reason": "x"}, {"tier": 2, "reason": ""}, {"tier": 2}, {"tier": "1", "reason": 3}):
        r = await client.post(url, json=wrong, headers=auth(lead_token))
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", wrong
    missing = await client.post("/api/v1/customers/999/tier", json={"tier": 1, "reason": "x"}, headers=auth(lead_token))
    assert missing.status_code == 404
    same = await client.post(url, json={"tier": 3, "reason": "still"}, headers=auth(lead_token))
    assert same.status_code == 200 and len(same.json()["tier_history"]) == 2  # nothing new
    # The older PATCH goes through the same door.
    r = await client.patch(f"/api/v1/customers/{made.id}", json={"value_tier": 1}, headers=auth(lead_token))
    assert r.status_code == 200 and r.json()["tier_history"][-1]["reason"] == "changed by hand"
    assert made.id is not None
    t = await trail(runtime, made.id)
    assert [(a.data["tier"], a.actor) for a in t.audit] == [([2, 3], f"agent:{lead.id}"), ([3, 1], f"agent:{lead.id}")]
    assert len(t.events) == 4


async def test_a_slip_is_delivered_signed_once_per_change(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    every, slips = new_secret(), new_secret()
    receiver.secrets = {"/customers": every, "/slips": slips}
    configure(
        runtime,
        f"subscriptions:\n"
        f"  crm:\n    url: {receiver.url('/customers')}\n    secrets: [{every}]\n    events: [customer.*]\n"
        f"  account-team:\n    url: {receiver.url('/slips')}\n    secrets: [{slips}]\n"
        f"    events: [customer.tier_slipped]\n",
    )
    _, lead_token = await make_agent(runtime, role="lead", tiers=())
    by_hand = await make_customer(runtime, ref="acme", tier=1, domain="acme.example")
    by_policy = await make_customer(runtime, ref="globex", tier=1, domain="globex.example")
    assert by_policy.id is not None
    await add_monthly(runtime, by_policy.id, "revenue", 100)  # a tiny year: the worst tier, after two reviews

    r = await client.post(
        f"/api/v1/customers/{by_hand.id}/tier", json={"tier": 2, "reason": "fewer seats"}, headers=auth(lead_token)
    )
    assert r.status_code == 200
    await client.post(
        f"/api/v1/customers/{by_hand.id}/tier", json={"tier": 2, "reason": "again"}, headers=auth(lead_token)
    )
    policy = tier_policy()
    for label in ("2026Q4", "2026Q4", "2027Q1", "2027Q1"):  # each period reviewed twice: the slip once
        async with runtime.app.sessionmaker() as s:
            await review.review(s, policy, parse_period(label, "quarterly"), apply=True, by="system:tier-review")
            await commit(s, runtime.app.effects)
    await drain(runtime)

    got = [
        (r["path"], r["payload"]["type"], r["payload"]["data"]["customer"]["external_ref"]) for r in receiver.received
    ]
    assert sorted(got) == sorted(
        [
            ("/customers", "customer.tier_changed", "acme"),
            ("/customers", "customer.tier_slipped", "acme"),
            ("/slips", "customer.tier_slipped", "acme"),
            ("/customers", "customer.tier_changed", "globex"),
            ("/customers", "customer.tier_slipped", "globex"),
            ("/slips", "customer.tier_slipped", "globex"),
        ]
    )
    assert all(r["verified"] for r in receiver.received)
    assert len({r["headers"]["webhook-id"] for r in receiver.received}) == len(receiver.received)
    slipped = next(r["payload"]["data"] for r in receiver.on("/slips") if r["payload"]["data"]["customer"]["id"] == 2)
    assert (slipped["from_tier"], slipped["to_tier"], slipped["source"], slipped["actor"]) == (
        1, 4, "policy", "system:tier-review",
    )  # fmt: skip
    assert slipped["policy_version"] == policy.version and slipped["score"] == 0
    assert slipped["customer"]["value_tier"] == 4 and slipped["customer"]["highest_tier"] == 1
