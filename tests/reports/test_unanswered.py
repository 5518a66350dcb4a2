"""A first response stopped without a response is reported as such: counted on its own, never as met, with
no response time, the same through the roll-ups as from the facts and after a rebuild of the facts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import time_machine

from queues import jobs
from queues.runtime import Runtime
from router.reports.schemas import SlaReport
from router.reports.service import make_filters, sla_report
from router.settings import Settings
from tests.conftest import auth, make_agent
from tests.reports.conftest import SINCE, T0, UNTIL
from tests.reports.test_facts import _facts, _rebuild
from tests.sla.conftest import _runtime, routed


async def _report(rt: Runtime) -> SlaReport:
    async with rt.app.sessionmaker() as session:
        return await sla_report(session, make_filters(SINCE, UNTIL, now=T0 + timedelta(hours=1)))


async def test_a_ticket_resolved_with_nothing_sent_is_unanswered_not_met(settings: Settings, tmp_path: Path) -> None:
    async with _runtime(settings, tmp_path, {}) as (rt, client):
        with time_machine.travel(T0, tick=False) as clock:
            _, token = await make_agent(rt, role="agent", tiers=(1,))
            answered = await routed(rt, client, token)
            silent = await routed(rt, client, token)
            clock.shift(timedelta(minutes=5))
            r = await client.post(f"/api/v1/tickets/{answered}/messages", json={"body": "On it"}, headers=auth(token))
            assert r.status_code == 201
            for tid in (answered, silent):
                r = await client.post(f"/api/v1/tickets/{tid}/wait", json={"reason": "logs?"}, headers=auth(token))
                assert r.status_code == 200, r.text
                r = await client.post(f"/api/v1/tickets/{tid}/resolve", json={"resolution": "ok"}, headers=auth(token))
                assert r.status_code == 200, r.text

            from_facts = await _report(rt)
            t = from_facts.totals
            assert (t.first_response_met, t.first_response_unanswered, t.first_response_breached) == (1, 1, 0)
            assert t.first_response_compliance == 1.0  # met among met or breached: unanswered is neither
            assert t.first_response_wall.p50 == 300  # only the reply is timed
            kept = await _facts(rt)
            assert [f["fr_outcome"] for f in kept] == [0, 3] and kept[1]["fr_wall_ms"] is None
            await _rebuild(rt)
            assert await _facts(rt) == kept
            assert await jobs.refresh_report_rollups({"app": rt.app}) == "days=1"
            assert await _report(rt) == from_facts
            html = await client.get(
                "/api/v1/reports/sla",
                params={"since": SINCE.isoformat(), "until": UNTIL.isoformat(), "format": "html"},
                headers=auth((await make_agent(rt, role="lead", tiers=()))[1]),
            )
            assert html.status_code == 200 and "<th>unanswered</th>" in html.text
