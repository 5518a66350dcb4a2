"""The weekly digest: one mail per lead or admin per week, however often the cron job runs."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import time_machine
from sqlmodel import select

from queues import jobs
from queues.runtime import Runtime
from queues.worker import drain
from router.models.reports import DigestMail
from router.reports.digest import previous_week
from tests.conftest import auth, make_agent, ticket_json
from tests.intake.test_outbound import Sink
from tests.intake.test_outbound import sink as smtp_sink

__all__ = ["smtp_sink"]  # the SMTP sink fixture of the outbound-mail tests


def test_the_digest_covers_the_last_full_week() -> None:
    monday = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    assert previous_week(monday) == (datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    sunday = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)
    assert previous_week(sunday) == (datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))


async def test_two_runs_in_one_week_send_one_digest_per_lead(
    runtime: Runtime, client: httpx.AsyncClient, smtp_sink: Sink
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=(), email="lead@support.example")
    await make_agent(runtime, role="admin", tiers=(), email="admin@support.example")
    await make_agent(runtime, role="agent", tiers=(1,), email="agent@support.example")
    with time_machine.travel(datetime(2026, 11, 24, 10, 0, tzinfo=UTC), tick=False) as clock:
        r = await client.post("/api/v1/tickets", json=ticket_json(), headers=auth(lead))
        assert r.status_code == 202
        await drain(runtime)
        clock.move_to(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
        assert await jobs.weekly_digest({"app": runtime.app}) == "pending=2"
        await drain(runtime)
        assert await jobs.weekly_digest({"app": runtime.app}) == "pending=0"  # the cron fired twice
        await drain(runtime)

    digests = [m for m in smtp_sink.received if str(m["Subject"]).startswith("Weekly SLA digest")]
    assert sorted(str(m["To"]) for m in digests) == ["admin@support.example", "lead@support.example"]
    mail = digests[0]
    assert mail["Subject"] == "Weekly SLA digest, week of 2026-11-23"
    assert mail["Message-ID"].startswith("<digest.2026-11-23.")
    text = mail.get_body(("plain",)).get_content()
    assert "Tickets in: 1 " in text and "First response met: —" in text
    assert "<table" in mail.get_body(("html",)).get_content()
    async with runtime.app.sessionmaker() as s:
        rows = (await s.exec(select(DigestMail))).all()
    assert sorted((r.week, r.email, r.status) for r in rows) == [
        ("2026-11-23", "admin@support.example", "sent"),
        ("2026-11-23", "lead@support.example", "sent"),
    ]
