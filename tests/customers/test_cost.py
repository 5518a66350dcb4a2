"""Cost to serve from the audit trail (issue 18 item 3): handling intervals read exactly from a trail built
through the ticket service at chosen moments (claim, wait, resume, an escalation by another agent, a reply
that changes nothing, resolve; a claimed ticket released and claimed again and still open; a holding across
a month's end; a vendor handoff), and the monthly figures priced with ``CostRates``, to the cent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import time_machine
from sqlmodel.ext.asyncio.session import AsyncSession

from queues.runtime import Runtime
from router.customers import cost
from router.customers import service as customers
from router.models.agents import Agent
from router.models.customers import Customer
from router.tickets import deliveries, handover, messages
from router.tickets import service as tickets
from router.tickets.actors import Actor
from router.tickets.inputs import MailDetails, TicketContext
from router.unit_of_work import commit
from rules import Decision
from rules.tier_costs import CostRates
from tests.conftest import make_agent

RATES = CostRates(per_hour={1: 40, 2: Decimal("60")}, per_vendor_handoff=150, currency="EUR")
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Trail:
    """Steps through the ticket service, each in its own committed transaction at a chosen moment."""

    def __init__(self, runtime: Runtime, clock: time_machine.Coordinates) -> None:
        self.runtime = runtime
        self.clock = clock

    async def step(self, moment: datetime, work: Callable[[AsyncSession], Awaitable[object]]) -> None:
        self.clock.move_to(moment)
        async with self.runtime.app.sessionmaker() as s:
            await work(s)
            await commit(s, self.runtime.app.effects)

    async def open(self, moment: datetime, owner: Customer, tier: int = 1) -> int:
        made: list[int] = []

        async def work(s: AsyncSession) -> None:
            ticket = await tickets.open_ticket(
                s,
                subject="Help",
                body="details",
                requester_email="pat@customer.example",
                customer_id=owner.id,
                customer_tier=owner.value_tier,
                priority_hint=None,
                channel="api",
                source="test",
                external_id=None,
                actor=Actor.system(),
                context=TicketContext(),
            )
            decision = Decision(support_tier=tier, priority="normal", tags=(), matched=(), rulebook_version="t")
            await tickets.apply_routing(s, ticket, decision)
            assert ticket.id is not None
            made.append(ticket.id)

        await self.step(moment, work)
        return made[0]

    async def do(self, moment: datetime, ticket_id: int, action: Callable[..., Awaitable[object]]) -> None:
        async def work(s: AsyncSession) -> None:
            await action(s, await tickets.get(s, ticket_id, lock=True))

        await self.step(moment, work)


async def build(runtime: Runtime) -> tuple[dict[str, int], dict[str, Agent], dict[str, Customer]]:
    """The fixture: see the expected figures in the tests below."""
    ann, _ = await make_agent(runtime, tiers=(1,), email="ann@support.example")
    bob, _ = await make_agent(runtime, tiers=(1, 2), email="bob@support.example")
    async with runtime.app.sessionmaker() as s:
        acme = await customers.create_customer(s, external_ref="acme", name="Acme", tier=1)
        beta = await customers.create_customer(s, external_ref="beta", name="Beta", tier=3)
        await commit(s, runtime.app.effects)
    a, b = Actor.of(ann), Actor.of(bob)
    with time_machine.travel(at(30, 8), tick=False) as clock:
        trail = Trail(runtime, clock)
        # T1 (acme): Ann 09:10-09:40 and 10:00-10:30 at tier 1, Bob 11:00-12:00 at tier 2.
        t1 = await trail.open(at(30, 9), acme)
        await trail.do(at(30, 9, 10), t1, lambda s, t: tickets.claim(s, t, ann))
        await trail.do(at(30, 9, 40), t1, lambda s, t: tickets.wait_on_customer(s, t, a, reason="which version?"))
        await trail.do(
            at(30, 10),
            t1,
            lambda s, t: tickets.add_inbound(s, t, author="pat@customer.example", body="4.2", mail=MailDetails()),
        )
        await trail.do(at(30, 10, 30), t1, lambda s, t: tickets.escalate(s, t, b, reason="needs tier 2"))
        await trail.do(at(30, 11), t1, lambda s, t: tickets.claim(s, t, bob))
        await trail.do(at(30, 11, 20), t1, lambda s, t: messages.add_message(s, t, b, body="on it", internal=False))
        await trail.do(at(30, 12), t1, lambda s, t: tickets.resolve(s, t, b, resolution="fixed"))
        # T2 (acme): Ann 13:00-13:45, released; Bob from 14:00, still holding it at NOW.
        t2 = await trail.open(at(30, 12, 30), acme)
        await trail.do(at(30, 13), t2, lambda s, t: tickets.claim(s, t, ann))
        await trail.do(at(30, 13, 45), t2, lambda s, t: handover.release(s, t, a, reason="lunch"))
        await trail.do(at(30, 14), t2, lambda s, t: tickets.claim(s, t, bob))
        # T3 (beta): Ann 23:00 on Oct 31 to 01:00 on Nov 1, a vendor handoff recorded in between.
        t3 = await trail.open(at(31, 22), beta)
        await trail.do(at(31, 23), t3, lambda s, t: tickets.claim(s, t, ann))
        await trail.do(
            at(1, 0, 30, month=11),
            t3,
            lambda s, t: _handoff(s, t),
        )
        await trail.do(at(1, 1, month=11), t3, lambda s, t: tickets.resolve(s, t, a, resolution="done"))
    return {"t1": t1, "t2": t2, "t3": t3}, {"ann": ann, "bob": bob}, {"acme": acme, "beta": beta}


async def _handoff(s: AsyncSession, ticket: object) -> None:
    deliveries.record_handoff(s, ticket, vendor="acme-vendor", delivery_id=None)  # type: ignore[arg-type]


async def test_handling_intervals_are_read_exactly_from_the_trail(runtime: Runtime) -> None:
    ids, agents, owners = await build(runtime)
    ann, bob = agents["ann"].id, agents["bob"].id
    acme, beta = owners["acme"].id, owners["beta"].id
    async with runtime.app.sessionmaker() as s:
        found = await cost.handling_intervals(s, at(1, 0), at(1, 0, month=12), now=NOW)
        assert [(i.ticket_id, i.customer_id, i.agent_id, i.support_tier, i.start, i.end) for i in found] == [
            (ids["t1"], acme, ann, 1, at(30, 9, 10), at(30, 9, 40)),
            (ids["t1"], acme, ann, 1, at(30, 10), at(30, 10, 30)),
            (ids["t1"], acme, bob, 2, at(30, 11), at(30, 12)),  # the reply at 11:20 does not cut it
            (ids["t2"], acme, ann, 1, at(30, 13), at(30, 13, 45)),
            (ids["t2"], acme, bob, 1, at(30, 14), NOW),  # still held: up to now
            (ids["t3"], beta, ann, 1, at(31, 23), at(1, 1, month=11)),  # the handoff does not cut it
        ]
        # A window cuts the holdings at both ends.
        cut = await cost.handling_intervals(s, at(30, 10, 15), at(30, 13, 30), now=NOW)
        assert [(i.ticket_id, i.start, i.end) for i in cut] == [
            (ids["t1"], at(30, 10, 15), at(30, 10, 30)),
            (ids["t1"], at(30, 11), at(30, 12)),
            (ids["t2"], at(30, 13), at(30, 13, 30)),
        ]
        assert await cost.handling_time(s, at(1, 0), at(1, 0, month=12), now=NOW) == {
            (ids["t1"], ann): 3600.0,
            (ids["t1"], bob): 3600.0,
            (ids["t2"], ann): 2700.0,
            (ids["t2"], bob): 46 * 3600.0,
            (ids["t3"], ann): 7200.0,
        }
        assert await cost.handling_time(s, at(1, 0), at(1, 0, month=12), ticket_ids=[ids["t3"]], now=NOW) == {
            (ids["t3"], ann): 7200.0
        }


async def test_cost_to_serve_per_customer_and_month_to_the_cent(runtime: Runtime) -> None:
    _, _, owners = await build(runtime)
    acme, beta = owners["acme"].id, owners["beta"].id
    assert acme is not None and beta is not None
    async with runtime.app.sessionmaker() as s:
        found = await cost.cost_to_serve(s, date(2026, 10, 1), date(2026, 12, 1), RATES, now=NOW)
        only_beta = await cost.cost_to_serve(s, date(2026, 10, 1), date(2026, 12, 1), RATES, [beta], now=NOW)
        november = await cost.cost_to_serve(s, date(2026, 11, 1), date(2026, 12, 1), RATES, now=NOW)
        before = await cost.cost_to_serve(s, date(2026, 9, 1), date(2026, 10, 1), RATES, now=NOW)
    # Acme in October: Ann 1 h on T1 and 0.75 h on T2 at tier 1 (40/h), Bob 1 h on T1 at tier 2 (60/h) and
    # 34 h on T2 at tier 1 (14:00 on Oct 30 to the month's end): 40 + 30 + 60 + 1360.
    oct_acme = cost.MonthlyCost("2026-10", 132300, Decimal("1490.00"), 0, Decimal("0.00"), 2)
    # November up to NOW: Bob's 12 h on T2.
    nov_acme = cost.MonthlyCost("2026-11", 43200, Decimal("480.00"), 0, Decimal("0.00"), 1)
    # Beta: Ann's two hours on T3, one each side of midnight; the handoff in November.
    oct_beta = cost.MonthlyCost("2026-10", 3600, Decimal("40.00"), 0, Decimal("0.00"), 1)
    nov_beta = cost.MonthlyCost("2026-11", 3600, Decimal("40.00"), 1, Decimal("150.00"), 1)
    assert found == {acme: [oct_acme, nov_acme], beta: [oct_beta, nov_beta]}
    assert only_beta == {beta: [oct_beta, nov_beta]}
    assert november == {acme: [nov_acme], beta: [nov_beta]}
    assert before == {}
    assert cost.totals(found) == {acme: Decimal("1970.00"), beta: Decimal("230.00")}
    assert (oct_acme.handling_hours, nov_beta.total) == (Decimal("36.75"), Decimal("190.00"))


def test_months_cut_the_window() -> None:
    assert cost.months(at(15, 6), at(2, 0, month=12)) == [
        ("2026-10", at(15, 6), at(1, 0, month=11)),
        ("2026-11", at(1, 0, month=11), at(1, 0, month=12)),
        ("2026-12", at(1, 0, month=12), at(2, 0, month=12)),
    ]
    assert cost.months(datetime(2026, 12, 5, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC))[-1][0] == "2027-01"


def test_cost_rates_refuse_what_cannot_be_a_price() -> None:
    import pytest

    assert RATES.hourly(1) == Decimal(40) and RATES.hourly(0) == Decimal(0) and RATES.vendor_handoff == Decimal(150)
    assert CostRates(per_hour={2: 42.1}).hourly(2) == Decimal("42.1")
    for bad in [
        {"per_hour": {5: 10}},
        {"per_hour": {1: -1}},
        {"per_hour": {1: float("nan")}},
        {"per_hour": {1: "lots"}},
        {"per_vendor_handoff": 10**12},
        {"currency": "euro"},
    ]:
        with pytest.raises(ValueError):
            CostRates(**bad)  # type: ignore[arg-type]


async def test_a_month_is_recorded_as_every_customers_metrics_idempotently(runtime: Runtime) -> None:
    from sqlmodel import col, select

    from router.customers import cost_record
    from router.models.customers import CustomerMetric

    _, _, owners = await build(runtime)
    acme, beta = owners["acme"].id, owners["beta"].id
    async with runtime.app.sessionmaker() as s:
        quiet = await customers.create_customer(s, external_ref="quiet", name="Quiet", tier=4)
        done = await cost_record.record_month(s, date(2026, 10, 1), RATES)
        await commit(s, runtime.app.effects)
    assert (done.customers, done.with_cost, done.figures.created) == (3, 2, 9)
    async with runtime.app.sessionmaker() as s:
        rows = (await s.exec(select(CustomerMetric).order_by(col(CustomerMetric.id)))).all()
        assert {(m.customer_id, m.period, m.metric, m.value, m.source) for m in rows} == {
            (acme, "2026-10", "support_hours", 36.75, "tierroute"),
            (acme, "2026-10", "support_cost", 1490.0, "tierroute"),
            (acme, "2026-10", "vendor_handoffs", 0.0, "tierroute"),
            (beta, "2026-10", "support_hours", 1.0, "tierroute"),
            (beta, "2026-10", "support_cost", 40.0, "tierroute"),
            (beta, "2026-10", "vendor_handoffs", 0.0, "tierroute"),
            (quiet.id, "2026-10", "support_hours", 0.0, "tierroute"),
            (quiet.id, "2026-10", "support_cost", 0.0, "tierroute"),
            (quiet.id, "2026-10", "vendor_handoffs", 0.0, "tierroute"),
        }
        again = await cost_record.record_month(s, date(2026, 10, 15), RATES)
    assert (again.figures.created, again.figures.updated, again.figures.unchanged) == (0, 0, 9)
