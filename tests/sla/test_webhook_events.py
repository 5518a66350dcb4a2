"""SLA warnings and breaches reach webhook subscriptions, signed (issue 5's sla.* subscriptions)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import time_machine

from queues.runtime import Runtime
from queues.worker import drain
from tests.conftest import make_agent
from tests.sla.conftest import fire_timers, routed
from tests.sla.test_breaches import START
from tests.webhooks.helpers import configure, new_secret
from tests.webhooks.test_outbound import Receiver, receiver

__all__ = ["receiver"]  # the loopback receiver fixture


async def test_sla_warning_and_breach_are_delivered_to_a_subscription(
    sla_rt: tuple[Runtime, httpx.AsyncClient], receiver: Receiver
) -> None:
    rt, client = sla_rt
    secret = new_secret()
    receiver.secrets = {"/sla": secret}
    _, lead = await make_agent(rt, role="lead", tiers=())
    with time_machine.travel(START, tick=True) as clock:
        # Configured inside the travelled time: a subscription hears only events from after it was loaded.
        configure(
            rt,
            f"subscriptions:\n  pager:\n    url: {receiver.url('/sla')}\n    secrets: [{secret}]\n"
            "    events: [sla.warning, sla.breached]\n",
        )
        tid = await routed(rt, client, lead)
        clock.shift(timedelta(minutes=6))
        await fire_timers(rt)
        clock.shift(timedelta(minutes=5))
        await fire_timers(rt)
        await drain(rt)
    got = [(r["payload"]["type"], r["payload"]["data"]["ticket"]["id"], r["verified"]) for r in receiver.received]
    assert ("sla.warning", tid, True) in got and ("sla.breached", tid, True) in got
    breached = next(r["payload"]["data"] for r in receiver.received if r["payload"]["type"] == "sla.breached")
    assert breached["kind"] == "first_response"
