"""SLA warnings and breaches on a held ticket notify its holder (issue 17 item 8), beside the leads'
``notify_lead`` notice; taking a ticket yourself is no news."""

from __future__ import annotations

from datetime import timedelta

import httpx
import time_machine
from sqlmodel import col, select

from queues.runtime import Runtime
from router.models.notifications import Notification
from tests.conftest import auth, make_agent, make_customer
from tests.sla.conftest import fire_timers, routed
from tests.sla.test_breaches import START
from tests.web.helpers import web_agent


async def _notices(rt: Runtime) -> list[Notification]:
    async with rt.app.sessionmaker() as s:
        return list((await s.exec(select(Notification).order_by(col(Notification.id)))).all())


async def test_sla_warning_and_breach_notify_the_holder(sla_rt: tuple[Runtime, httpx.AsyncClient]) -> None:
    rt, client = sla_rt
    lead = await web_agent(rt, role="lead", tiers=(1,))
    holder, holder_token = await make_agent(rt, tiers=(1,))
    await make_customer(rt, ref="acme", tier=2, domain="acme.example")  # policy "office": 2 h, warning at half
    with time_machine.travel(START, tick=False) as clock:
        tid = await routed(rt, client, holder_token, requester_email="pat@acme.example")
        claimed = await client.post("/api/v1/queues/1/claim", headers=auth(holder_token))
        assert claimed.status_code == 200 and claimed.json()["id"] == tid
        assert await _notices(rt) == []  # taking a ticket yourself is no news
        clock.shift(timedelta(hours=1, minutes=1))
        await fire_timers(rt)
        assert [(n.agent_id, n.kind) for n in await _notices(rt)] == [(holder.id, "sla_warning")]
        clock.shift(timedelta(hours=1))
        await fire_timers(rt)
    kinds = sorted((n.agent_id or 0, n.kind) for n in await _notices(rt))
    assert kinds == sorted([(holder.id, "sla_warning"), (holder.id, "my_sla_breach"), (lead.id, "sla_breach")])
    breach = next(n for n in await _notices(rt) if n.kind == "my_sla_breach")
    assert breach.payload["clock"] == "first_response" and "breached" in breach.payload["text"]
