"""The customer page (``/ui/customers/{id}``): tier and timeline, the score now with its components, metrics,
open tickets (linked both ways with the ticket page), cost to serve; leads only, a missing customer a 404 page."""

from __future__ import annotations

from datetime import date

import httpx

from queues.runtime import Runtime
from router.customers import service as customers
from router.customers import tiering
from router.tickets import service as tickets
from router.unit_of_work import commit
from rules.review_periods import period_of
from tests.customers.tiers_helpers import add_monthly
from tests.web.helpers import sign_in, web_agent


async def test_the_customer_page(runtime: Runtime, client: httpx.AsyncClient) -> None:
    async with runtime.app.sessionmaker() as s:
        acme = await customers.create_customer(s, external_ref="acme", name="Acme Corp", tier=2)
        await commit(s, runtime.app.effects)
        await tiering.retier(s, acme, 1, reason="big renewal", by=None, source="manual")
        ticket = await tickets.open_ticket(
            s, subject="Export is slow", body="It fails.", requester_email="pat@acme.example", customer_id=acme.id,
            customer_tier=1, priority_hint=None, channel="api", source="test", external_id=None,
            actor=tickets.Actor.system(), context=tickets.TicketContext(), route_after_commit=False,
        )  # fmt: skip
        await commit(s, runtime.app.effects)
    assert acme.id is not None
    last = period_of(date.today(), "quarterly").last_metric_period  # what the page's score reads
    await add_monthly(runtime, acme.id, "revenue_12m", 300000, last=last, months=1)
    lead = await web_agent(runtime, role="lead", tiers=(1,))
    await sign_in(client, lead)
    page = await client.get(f"/ui/customers/{acme.id}")
    assert page.status_code == 200
    text = page.text
    assert "Current tier 1, onboarded at tier 2, best tier held 1." in text
    assert "2 → 1" in text and "big renewal" in text and "onboarded at 2" in text
    # 100 points x 40 + 100 x 25 (no support cost measured) + the missing margin's and growth's 50 x 20 and x 15.
    assert "Score <strong>82.5</strong> reaches tier 1: proposed tier 1." in text
    assert ">revenue</th><td>300000.0</td><td>100.0</td><td>40.0</td><td>40.0</td>" in text
    assert ">margin</th><td>—</td><td>50.0</td><td>20.0</td><td>10.0</td>" in text
    assert f'href="/ui/tickets/{ticket.id}"' in text and "Export is slow" in text
    assert "No handling measured." in text and 'data-customer-banner="slipped"' not in text
    on_ticket = await client.get(f"/ui/tickets/{ticket.id}")
    assert f'href="/ui/customers/{acme.id}" data-customer-link' in on_ticket.text
    assert (await client.get("/ui/customers/999")).status_code == 404
    agent = await web_agent(runtime, role="agent", tiers=(1,))
    await sign_in(client, agent)
    assert (await client.get(f"/ui/customers/{acme.id}")).status_code == 403
