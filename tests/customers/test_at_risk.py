"""The early warning (``customer.at_risk``): counted over the window from the report facts, watched tiers only,
told once per window (the webhook signed, a lead's notification and mail, the log), told again in a later
window; the banners on the customer's open tickets; the policy's ``at_risk:`` section checked with locations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import time_machine
from sqlalchemy import update
from sqlmodel import select

from queues import jobs
from queues.runtime import Runtime
from queues.worker import drain
from router.customers import at_risk
from router.customers.policy import TierPolicyProvider
from router.models.admin import AdminEvent
from router.models.customers import CustomerAtRisk
from router.models.notifications import Notification
from router.models.reports import ReportTicket
from router.models.tickets import MailStatus
from router.tickets import service as tickets
from router.unit_of_work import commit
from rules.tier_loader import TierPolicyError, parse_tier_policy
from tests.conftest import make_agent, make_customer
from tests.customers.tiers_helpers import POLICY
from tests.web.helpers import sign_in, web_agent
from tests.webhooks.helpers import configure, new_secret
from tests.webhooks.test_outbound import Receiver, receiver

__all__ = ["receiver"]

AT_RISK = "at_risk: {tiers: [1], window_days: 10, breaches: 2, tickets: 3}\n"
T = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def policy_text() -> str:
    return POLICY.format(best=1, thresholds="{1: 70, 2: 45, 3: 20}") + AT_RISK


async def tickets_for(runtime: Runtime, customer_id: int, count: int, *, tier: int = 1) -> list[int]:
    ids = []
    async with runtime.app.sessionmaker() as s:
        for n in range(count):
            ticket = await tickets.open_ticket(
                s, subject=f"Trouble {n}", body="It fails.", requester_email="pat@customer.example",
                customer_id=customer_id, customer_tier=tier, priority_hint=None, channel="api", source="test",
                external_id=None, actor=tickets.Actor.system(), context=tickets.TicketContext(),
                route_after_commit=False,
            )  # fmt: skip
            assert ticket.id is not None
            ids.append(ticket.id)
        await commit(s, runtime.app.effects)
    return ids


async def facts(runtime: Runtime, ticket_ids: list[int], created_at: datetime, breaches: int = 0) -> None:
    """The report facts of the tickets, as if opened at ``created_at`` with ``breaches`` each."""
    async with runtime.app.sessionmaker() as s:
        table = ReportTicket.__table__  # type: ignore[attr-defined]
        await (await s.connection()).execute(
            update(table).where(table.c.ticket_id.in_(ticket_ids)).values(created_at=created_at, breaches=breaches)
        )
        await s.commit()


def test_the_policy_section_is_checked_with_locations() -> None:
    policy = parse_tier_policy(policy_text(), "tiers.yaml")
    assert policy.at_risk is not None
    assert (policy.at_risk.watched, policy.at_risk.window_days) == ((1,), 10)
    assert policy.at_risk.crossed({"breaches": 2, "tickets": 1}) == ("breaches",)
    bad = POLICY.format(best=1, thresholds="{1: 70, 2: 45, 3: 20}") + (
        "at_risk: {tiers: [1, 7], window_days: 0, breaches: -1, calls: 3}\n"
    )
    with pytest.raises(TierPolicyError) as caught:
        parse_tier_policy(bad, "tiers.yaml")
    assert str(caught.value).splitlines() == [
        "tiers.yaml:19:22: a watched tier is 1 to 4, got 7",
        "tiers.yaml:19:26: window_days must be a whole number from 1 to 366, got 0",
        "tiers.yaml:19:42: breaches must be a whole number from 1 to 1000000, got -1",
        "tiers.yaml:19:56: unknown field 'calls' in at_risk; known: tiers, window_days, breaches, escalations, "
        "reopens, tickets",
    ]


async def test_at_risk_is_told_once_per_window_signed_mailed_and_shown(
    runtime: Runtime, receiver: Receiver, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    secret = new_secret()
    receiver.secrets = {"/risk": secret}
    with time_machine.travel(T - timedelta(days=60)):  # a subscription hears what happens after it is loaded
        configure(
            runtime,
            f"subscriptions:\n  crm:\n    url: {receiver.url('/risk')}\n    secrets: [{secret}]\n"
            f"    events: [customer.at_risk]\n",
        )
    (tmp_path / "tiers.yaml").write_text(policy_text())
    runtime.app.tier_policy = TierPolicyProvider(tmp_path / "tiers.yaml")
    runtime.app.settings.tier_review_cadence = "off"
    lead, _ = await make_agent(runtime, role="lead", tiers=())
    watched = await make_customer(runtime, ref="acme", tier=1, domain="acme.example")
    unwatched = await make_customer(runtime, ref="globex", tier=2, domain="globex.example")
    quiet = await make_customer(runtime, ref="initech", tier=1, domain="initech.example")
    assert watched.id and unwatched.id and quiet.id
    acme = await tickets_for(runtime, watched.id, 3)
    await facts(runtime, acme[:1], T - timedelta(days=20), breaches=5)  # before the window: not counted
    await facts(runtime, acme[1:], T, breaches=1)
    await facts(runtime, await tickets_for(runtime, unwatched.id, 4, tier=2), T, breaches=3)
    await facts(runtime, await tickets_for(runtime, quiet.id, 2), T, breaches=0)

    async with runtime.app.sessionmaker() as s:
        found = await at_risk.counts(s, T - timedelta(days=9), T + timedelta(days=1))
    assert found[watched.id] == {"breaches": 2, "escalations": 0, "reopens": 0, "tickets": 2}
    assert found[unwatched.id] == {"breaches": 12, "escalations": 0, "reopens": 0, "tickets": 4}
    assert found[quiet.id]["tickets"] == 2

    ctx = {"app": runtime.app, "redis": runtime.pool}
    with time_machine.travel(T + timedelta(days=1), tick=False):
        assert await jobs.tier_review(ctx) == "off at_risk=1"
    with time_machine.travel(T + timedelta(days=2), tick=False):
        assert await jobs.tier_review(ctx) == "off"  # told already in this window
    await drain(runtime)
    [delivered] = receiver.received
    assert delivered["verified"] and delivered["payload"]["type"] == "customer.at_risk"
    data = delivered["payload"]["data"]
    assert data["customer"]["external_ref"] == "acme"
    assert data["counts"] == {"breaches": 2, "escalations": 0, "reopens": 0, "tickets": 2}
    assert data["crossed"] == ["breaches"] and data["window_days"] == 10

    async with runtime.app.sessionmaker() as s:
        [notice] = (await s.exec(select(Notification).where(Notification.agent_id == lead.id))).all()
        assert notice.kind == "customer_at_risk" and notice.mail_status in (MailStatus.pending, MailStatus.sent)
        logged = (await s.exec(select(AdminEvent).where(AdminEvent.action == "customer.at_risk"))).all()
        assert [e.subject for e in logged] == [f"customer:{watched.id}"]

    # The next window: the newer tickets count again, and it is told again.
    await facts(runtime, acme[1:], T + timedelta(days=15), breaches=1)
    with time_machine.travel(T + timedelta(days=16), tick=False):
        assert await jobs.tier_review(ctx) == "off at_risk=1"
    async with runtime.app.sessionmaker() as s:
        assert len((await s.exec(select(CustomerAtRisk))).all()) == 2

    # The banner on the customer's open ticket, while the warning is in its window.
    web_lead = await web_agent(runtime, role="lead", tiers=(1,))
    with time_machine.travel(T + timedelta(days=17), tick=True):
        await sign_in(client, web_lead)
        page = await client.get(f"/ui/tickets/{acme[1]}")
        assert page.status_code == 200
        assert 'data-customer-banner="at_risk"' in page.text and "breaches 2" in page.text
        assert f'href="/ui/customers/{watched.id}"' in page.text
    with time_machine.travel(T + timedelta(days=40), tick=True):
        await sign_in(client, web_lead)
        page = await client.get(f"/ui/tickets/{acme[1]}")
        assert 'data-customer-banner="at_risk"' not in page.text
