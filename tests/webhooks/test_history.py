"""A new subscription hears what happens from the moment it exists, never the history before it; a vendor
handoff goes out only while its ticket is still at tier 4 with that vendor."""

from __future__ import annotations

import httpx
from sqlmodel import select

from queues import jobs
from queues.reconcile import reconcile
from queues.runtime import Runtime
from queues.worker import drain
from router.models.events import OutboxEvent
from router.models.webhooks import WebhookSubscription
from tests.conftest import auth, make_agent, ticket_json
from tests.webhooks.test_outbound import SMS_FAULT, Receiver, receiver, setup

__all__ = ["receiver"]  # the receiving HTTP server fixture of the outbound tests


async def _new_ticket(client: httpx.AsyncClient, token: str, **fields: str) -> int:
    r = await client.post("/api/v1/tickets", json=ticket_json(**fields), headers=auth(token))
    assert r.status_code == 202, r.text
    return int(r.json()["id"])


async def _trail(client: httpx.AsyncClient, token: str, tid: int) -> list[dict]:  # type: ignore[type-arg]
    return list((await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(token))).json())


async def test_a_subscription_added_to_an_existing_install_gets_no_history(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    old = [await _new_ticket(client, lead) for _ in range(3)]
    back = await _new_ticket(client, lead, **SMS_FAULT)  # handed to tier 4, then taken back to tier 0
    still = await _new_ticket(client, lead, **SMS_FAULT)  # handed to tier 4 and still there
    await drain(runtime)
    r = await client.post(
        f"/api/v1/tickets/{back}/deescalate", json={"reason": "ours", "to_tier": 0}, headers=auth(lead)
    )
    assert r.status_code == 200, r.text

    setup(runtime, receiver)  # TIERROUTE_WEBHOOKS set on the install, which then starts its worker
    await reconcile(runtime.app, runtime.pool)
    await drain(runtime)
    assert receiver.on("/events") == []  # none of the old tickets' ticket.created events
    handoffs = [h["payload"]["data"]["ticket"]["id"] for h in receiver.on("/vendor")]
    assert handoffs == [still]  # the one still waiting at tier 4 for that vendor; never the stale one
    skipped = next(e for e in await _trail(client, lead, back) if e["action"] == "vendor_handoff_skipped")
    assert "tier 0" in skipped["reason"]
    deliveries = (await client.get(f"/api/v1/tickets/{back}/webhooks", headers=auth(lead))).json()
    assert [(d["status"], "tier 0" in (d["last_error"] or "")) for d in deliveries] == [("skipped", True)]

    new = await _new_ticket(client, lead)
    await drain(runtime)
    created = [e["payload"]["data"]["ticket"]["id"] for e in receiver.on("/events")]
    assert created == [new] and new not in old
    async with runtime.app.sessionmaker() as session:
        [seen] = (await session.exec(select(WebhookSubscription))).all()
    assert seen.name == "chatops" and seen.url == receiver.url("/events")
    await reconcile(runtime.app, runtime.pool)  # nothing old comes back on the next start either
    await drain(runtime)
    assert len(receiver.on("/events")) == 1


async def test_a_handoff_is_skipped_when_the_ticket_left_tier_four_before_its_delivery(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup(runtime, receiver)
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await _new_ticket(client, lead, **SMS_FAULT)
    async with runtime.app.sessionmaker() as session:
        event_id = (
            await session.exec(
                select(OutboxEvent.id).where(OutboxEvent.ticket_id == tid, OutboxEvent.type == "ticket.vendor_handoff")
            )
        ).one()
    # The handoff is fanned out (its delivery job queued), then a lead takes the ticket back before it runs.
    assert await jobs.publish_event({"app": runtime.app}, event_id) == "deliveries=1"
    r = await client.post(f"/api/v1/tickets/{tid}/deescalate", json={"reason": "ours"}, headers=auth(lead))
    assert r.status_code == 200, r.text
    await drain(runtime)
    assert receiver.on("/vendor") == []
    [delivery] = [
        d
        for d in (await client.get(f"/api/v1/tickets/{tid}/webhooks", headers=auth(lead))).json()
        if d["endpoint_kind"] == "vendor"
    ]
    assert delivery["status"] == "skipped" and "tier 3" in delivery["last_error"]
    actions = [e["action"] for e in await _trail(client, lead, tid) if e["action"].startswith("vendor_")]
    assert actions == ["vendor_handoff", "vendor_handoff_skipped"]
