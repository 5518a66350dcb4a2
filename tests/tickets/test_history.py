"""The requester's and the customer's other tickets on the ticket page (issue 17 item 6): open first, with
tiers and outcomes, and never a ticket of a tier the viewing agent does not work."""

from __future__ import annotations

import httpx

from queues.runtime import Runtime
from router.tickets import service as tickets
from router.unit_of_work import commit
from rules import Decision
from tests.conftest import make_customer
from tests.web.helpers import sign_in, web_agent


async def _ticket(
    runtime: Runtime, subject: str, *, requester: str, customer_id: int | None, tier: int, resolve: bool = False
) -> int:
    async with runtime.app.sessionmaker() as s:
        ticket = await tickets.open_ticket(
            s,
            subject=subject,
            body="details",
            requester_email=requester,
            customer_id=customer_id,
            customer_tier=2,
            priority_hint=None,
            channel="api",
            source="test",
            external_id=None,
            actor=tickets.Actor.system(),
            context=tickets.TicketContext(),
        )
        decision = Decision(support_tier=tier, priority="normal", tags=(), matched=(), rulebook_version="test")
        await tickets.apply_routing(s, ticket, decision)
        if resolve:
            await tickets.resolve(s, ticket, tickets.Actor.system(), resolution="fixed")
        await commit(s, runtime.app.effects)
        assert ticket.id is not None
        return ticket.id


async def test_history_lists_open_first_and_only_visible_tiers(runtime: Runtime, client: httpx.AsyncClient) -> None:
    acme = await make_customer(runtime, ref="acme", tier=2, domain="acme.example")
    pat, kim = "pat@acme.example", "kim@acme.example"
    current = await _ticket(runtime, "Current problem", requester=pat, customer_id=acme.id, tier=1)
    solved = await _ticket(runtime, "Old invoice question", requester=pat, customer_id=acme.id, tier=1, resolve=True)
    still_open = await _ticket(runtime, "Password reset loop", requester=pat, customer_id=acme.id, tier=1)
    secret = await _ticket(runtime, "Database corruption", requester=pat, customer_id=acme.id, tier=3)
    colleague = await _ticket(runtime, "Kim's export fails", requester=kim, customer_id=acme.id, tier=2)
    colleague_hidden = await _ticket(runtime, "Kim's vendor case", requester=kim, customer_id=acme.id, tier=4)
    stranger = await _ticket(runtime, "Not related", requester="someone@else.example", customer_id=None, tier=1)

    agent = await web_agent(runtime, tiers=(1, 2))
    await sign_in(client, agent)
    html = (await client.get(f"/ui/tickets/{current}")).text
    section = html.split('id="history-h"')[1].split("</section>")[0]
    requester_part, customer_part = section.split("Other tickets of Acme")
    assert requester_part.index(f"/ui/tickets/{still_open}") < requester_part.index(f"/ui/tickets/{solved}")
    assert "resolved" in requester_part and "tier 1" in requester_part
    assert f"/ui/tickets/{colleague}" in customer_part and "tier 2" in customer_part
    for hidden in (secret, colleague_hidden, stranger, current):
        assert f'/ui/tickets/{hidden}"' not in section, hidden
    assert "Database corruption" not in html and "vendor case" not in html

    lead = await web_agent(runtime, role="lead", tiers=())
    await sign_in(client, lead)
    section = (await client.get(f"/ui/tickets/{current}")).text.split('id="history-h"')[1].split("</section>")[0]
    assert f"/ui/tickets/{secret}" in section and f"/ui/tickets/{colleague_hidden}" in section
    assert section.index(f"/ui/tickets/{secret}") < section.index(f"/ui/tickets/{solved}")  # open first
