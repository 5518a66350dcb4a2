"""Every way a ticket changes leaves a chain that verifies: the keyed audit chain (issue 16 item 17) records
the ticket's resulting state in each event, so an action that changes a ticket without sealing that state
would read as tampering. The actions added beside the chain (take, release, priority, tags, assign, macros,
replies with attachments, reopen by reply) are held to it here."""

from __future__ import annotations

import httpx

from queues.runtime import Runtime
from tests.conftest import auth, make_agent
from tests.web.helpers import open_ticket


async def _verifies(client: httpx.AsyncClient, ticket_id: int, token: str) -> None:
    r = await client.get(f"/api/v1/tickets/{ticket_id}/audit/verify", headers=auth(token))
    assert r.status_code == 200, r.text
    assert r.json()["valid"] is True, r.json()


async def test_handover_macros_and_replies_leave_a_chain_that_verifies(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ticket_id = await open_ticket(runtime, subject="Printer on fire")
    agent, token = await make_agent(runtime, tiers=(1, 2))
    _, lead_token = await make_agent(runtime, role="lead", tiers=(1, 2))
    steps: list[tuple[str, str, dict[str, object]]] = [
        (token, "take", {}),
        (token, "priority", {"priority": "high"}),
        (token, "tags", {"add": ["hardware", "fire"]}),
        (token, "release", {"reason": "wrong skills"}),
        (lead_token, "assign", {"agent_id": agent.id, "reason": "knows printers"}),
        (token, "messages", {"body": "On our way.", "internal": False}),
        (token, "resolve", {"resolution": "extinguished"}),
        (token, "messages", {"body": "One more thing.", "internal": False}),  # a reply reopens
    ]
    for who, path, body in steps:
        r = await client.post(f"/api/v1/tickets/{ticket_id}/{path}", json=body, headers=auth(who))
        assert r.status_code in (200, 201), (path, r.text)
        await _verifies(client, ticket_id, lead_token)

    macro = await client.post(
        "/api/v1/macros",
        json={
            "name": "Up",
            "body": "Handing {{ ticket.ref }} on.",
            "actions": {"priority": "urgent", "escalate": {"reason": "needs tier 2", "to_tier": 2}},
        },
        headers=auth(lead_token),
    )
    assert macro.status_code == 201, macro.text
    applied = await client.post(
        f"/api/v1/tickets/{ticket_id}/macros/{macro.json()['id']}/apply", json={}, headers=auth(token)
    )
    assert applied.status_code == 200, applied.text
    await _verifies(client, ticket_id, lead_token)

    upload = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages/multipart",
        data={"body": "The log."},
        files={"files": ("log.txt", b"smoke\n", "text/plain")},
        headers=auth(lead_token),
    )
    assert upload.status_code == 201, upload.text
    await _verifies(client, ticket_id, lead_token)
