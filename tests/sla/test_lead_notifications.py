"""``notify_lead`` on a breach: each lead of the ticket's tier gets a stored notification (API, and a banner
on My queues until dismissed) and a mail through the outbound mailer; nobody else does."""

from __future__ import annotations

from datetime import timedelta

import httpx
import time_machine
from sqlmodel import col, select

from queues.jobs import check_sla
from queues.names import MAIL_QUEUE
from queues.reconcile import reconcile
from queues.runtime import Runtime
from queues.worker import drain
from router.models.notifications import Notification
from tests.conftest import auth, make_agent, make_customer
from tests.intake.test_outbound import Sink, start_sink
from tests.sla.conftest import clocks, fire_timers, routed, trail
from tests.sla.test_breaches import START
from tests.web.helpers import csrf_of, sign_in, web_agent


async def test_a_breach_notifies_each_lead_of_the_tier_in_app_and_by_mail(
    sla_rt: tuple[Runtime, httpx.AsyncClient],
) -> None:
    rt, client = sla_rt
    sink = Sink()
    server, port = await start_sink(sink)
    rt.app.settings = rt.app.settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
    try:
        lead = await web_agent(rt, role="lead", tiers=(1,), name="Lena Lead")
        both, both_token = await make_agent(rt, role="lead", tiers=(1, 2), email="both@support.example")
        _, other_token = await make_agent(rt, role="lead", tiers=(2,), email="other@support.example")
        worker = await web_agent(rt, role="agent", tiers=(1,))
        await make_customer(rt, ref="acme", tier=2, domain="acme.example")  # policy "office": notify_lead
        with time_machine.travel(START, tick=False) as clock:
            tid = await routed(rt, client, both_token, requester_email="pat@acme.example")
            clock.shift(timedelta(hours=2, minutes=1))  # the first response (2 business hours) breaches
            await fire_timers(rt)
    finally:
        server.close()
        await server.wait_closed()

    async with rt.app.sessionmaker() as s:
        rows = (await s.exec(select(Notification).order_by(col(Notification.agent_id)))).all()
    assert [(n.agent_id, n.kind, n.ticket_id) for n in rows] == [
        (lead.id, "sla_breach", tid),
        (both.id, "sla_breach", tid),
    ]
    assert rows[0].payload["clock"] == "first_response" and rows[0].payload["support_tier"] == 1
    assert [n.mail_status for n in rows] == ["sent", "sent"]
    to_leads = [m for m in sink.received if str(m["Subject"]).startswith("SLA breached")]
    assert sorted(str(m["To"]) for m in to_leads) == sorted([lead.email, "both@support.example"])
    mail = next(m for m in to_leads if str(m["To"]) == lead.email)
    assert "first response" in mail.get_content() and mail["Auto-Submitted"] == "auto-generated"
    notified = next(e for e in await trail(rt, tid) if e.action == "lead_notified")
    assert notified.data["leads"] == [lead.id, both.id]

    listed = (await client.get("/api/v1/notifications", headers=auth(both_token))).json()
    assert [(n["kind"], n["ticket_id"], n["read_at"]) for n in listed] == [("sla_breach", tid, None)]
    assert (await client.get("/api/v1/notifications", headers=auth(other_token))).json() == []
    assert (await client.post(f"/api/v1/notifications/{rows[0].id}/read", headers=auth(both_token))).status_code == 404
    read = await client.post(f"/api/v1/notifications/{listed[0]['id']}/read", headers=auth(both_token))
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert (await client.get("/api/v1/notifications?unread=true", headers=auth(both_token))).json() == []

    await sign_in(client, lead)
    home = await client.get("/ui/")
    assert 'class="notice"' in home.text and "SLA breached" in home.text and f"/ui/tickets/{tid}" in home.text
    dismissed = await client.post(
        f"/ui/notifications/{rows[0].id}/read", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False
    )
    assert dismissed.status_code == 303
    assert 'class="notice"' not in (await client.get("/ui/")).text
    await sign_in(client, worker)
    assert 'class="notice"' not in (await client.get("/ui/")).text


async def test_a_notification_mail_lost_with_redis_is_sent_after_reconcile(
    sla_rt: tuple[Runtime, httpx.AsyncClient],
) -> None:
    rt, client = sla_rt
    sink = Sink()
    server, port = await start_sink(sink)
    rt.app.settings = rt.app.settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"})
    try:
        lead, token = await make_agent(rt, role="lead", tiers=(1,), email="lead@support.example")
        await make_customer(rt, ref="acme", tier=2, domain="acme.example")
        with time_machine.travel(START, tick=False) as clock:
            tid = await routed(rt, client, token, requester_email="pat@acme.example")
            clock.shift(timedelta(hours=2, minutes=1))
            first = (await clocks(rt, tid))["first_response"]
            # The breach job runs (it warns and breaches: both were due); its commit queues the mail job ...
            assert await check_sla({"app": rt.app}, tid, "first_response", first.generation) == "breached"
            assert await rt.pool.zcard(MAIL_QUEUE) == 1
            await rt.pool.flushdb()  # ... then Redis is wiped before the mailer ran
            await reconcile(rt.app, rt.pool)
            await drain(rt)
    finally:
        server.close()
        await server.wait_closed()
    to_lead = [m for m in sink.received if str(m["Subject"]).startswith("SLA breached")]
    assert [str(m["To"]) for m in to_lead] == ["lead@support.example"]
    async with rt.app.sessionmaker() as s:
        [notice] = (await s.exec(select(Notification))).all()
    assert (notice.agent_id, notice.ticket_id, notice.mail_status) == (lead.id, tid, "sent")
