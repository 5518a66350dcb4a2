"""Push assignment's figures: in the SLA report and on /metrics."""

from __future__ import annotations

import httpx

from queues.runtime import Runtime
from router.assignment import assigner
from router.tickets import offers
from router.unit_of_work import transaction
from tests.assignment.helpers import agent, push, queued
from tests.conftest import auth, make_agent


async def test_offers_latency_and_utilisation_in_the_report_and_metrics(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    push(runtime, "least_loaded")
    a, _ = await agent(runtime, cap=4)
    _, lead = await make_agent(runtime, role="lead", tiers=())
    ids = await queued(runtime, 3)
    assert await assigner.run_tier(runtime.app, 1) == 3
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        await offers.accept(s, ids[0], a)
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        await offers.decline(s, ids[1], a)
    report = (await client.get("/api/v1/reports/sla", headers=auth(lead))).json()
    [tier] = report["assignment"]["by_tier"]
    assert (tier["tier"], tier["offered"], tier["accepted"], tier["declined"], tier["pending"]) == (1, 3, 1, 1, 1)
    assert tier["latency_p50"] is not None and tier["latency_p50"] >= 0
    mine = next(u for u in report["assignment"]["utilisation"] if u["agent_id"] == a.id)
    assert (mine["open"], mine["max_open"], mine["utilisation"]) == (2, 4, 0.5)  # accepted + still offered

    metrics = (await client.get("/metrics")).text
    assert 'tierroute_assignment_offers_last_hour{state="declined",tier="1"} 1.0' in metrics
    assert f'tierroute_agent_utilisation{{agent="{a.id}",tier="1"}} 0.5' in metrics
    assert 'tierroute_assignment_latency_seconds{quantile="0.95",tier="1"}' in metrics
    page = await client.get("/reports", headers=auth(lead))
    assert page.status_code == 200 and "Push assignment" in page.text and "assignment-utilisation" in page.text
