"""Notifications for the agent holding a ticket (issue 17 item 8): assigned to me, the requester replied,
an SLA warning or breach on my ticket; made in the change's transaction, sent live to the agent's open
pages, mailed per the agent's preference, and never about a ticket of a tier the agent may not see."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
from sqlmodel import col, select

from queues.runtime import Runtime
from router.effects import CredentialsChanged, after_commit
from router.models.agents import Agent
from router.models.notifications import Notification
from router.notifications import service as notifications
from router.tickets import service as tickets
from router.tickets.actors import Actor
from router.tickets.inputs import MailDetails
from router.unit_of_work import commit
from router.web import live_pages, streams
from tests.conftest import auth, make_agent, one_backend
from tests.web.helpers import open_ticket, sign_in, web_agent


async def _notices(rt: Runtime, agent_id: int | None = None) -> list[Notification]:
    async with rt.app.sessionmaker() as s:
        query = select(Notification).order_by(col(Notification.id))
        if agent_id is not None:
            query = query.where(Notification.agent_id == agent_id)
        return list((await s.exec(query)).all())


async def _reassign(rt: Runtime, ticket_id: int, lead: Agent, target: Agent, *, keep: bool = True) -> None:
    async with rt.app.sessionmaker() as s:
        ticket = await tickets.get(s, ticket_id, lock=True)
        fresh_lead, fresh_target = await s.get(Agent, lead.id), await s.get(Agent, target.id)
        assert fresh_lead is not None and fresh_target is not None
        await tickets.reassign(s, ticket, Actor.of(fresh_lead), fresh_target, reason="you know this customer")
        if keep:
            await commit(s, rt.app.effects)
        else:
            await s.rollback()


async def _reply_by_mail(rt: Runtime, ticket_id: int) -> None:
    async with rt.app.sessionmaker() as s:
        ticket = await tickets.get(s, ticket_id, lock=True)
        await tickets.add_inbound(s, ticket, author="pat@customer.example", body="Any news?", mail=MailDetails())
        await commit(s, rt.app.effects)


async def test_a_reassigned_ticket_notifies_its_new_holder_in_the_same_transaction(runtime: Runtime) -> None:
    ticket_id = await open_ticket(runtime, tier=1)
    lead = await web_agent(runtime, role="lead", tiers=(1,))
    agent = await web_agent(runtime, tiers=(1,), name="Ada")
    await _reassign(runtime, ticket_id, lead, agent, keep=False)
    assert await _notices(runtime) == []  # rolled back with the change
    await _reassign(runtime, ticket_id, lead, agent)
    [notice] = await _notices(runtime)
    assert (notice.agent_id, notice.kind, notice.ticket_id) == (agent.id, "assigned", ticket_id)
    assert notice.payload["ref"] == f"T-{ticket_id:06d}" and lead.name in notice.payload["text"]
    assert notice.mail_status is None  # not a kind mailed by default


async def test_a_requester_reply_notifies_the_holder_only(runtime: Runtime) -> None:
    unheld = await open_ticket(runtime, tier=1)
    await _reply_by_mail(runtime, unheld)
    assert await _notices(runtime) == []  # nobody holds it: the queue shows it
    held = await open_ticket(runtime, tier=1)
    lead = await web_agent(runtime, role="lead", tiers=(1,))
    agent = await web_agent(runtime, tiers=(1,))
    await _reassign(runtime, held, lead, agent)
    await _reply_by_mail(runtime, held)
    kinds = [(n.agent_id, n.kind) for n in await _notices(runtime)]
    assert kinds == [(agent.id, "assigned"), (agent.id, "requester_replied")]


async def test_mail_follows_the_agents_preference(runtime: Runtime) -> None:
    lead = await web_agent(runtime, role="lead", tiers=(1,))
    agent = await web_agent(runtime, tiers=(1,))
    async with runtime.app.sessionmaker() as s:
        fresh = await s.get(Agent, agent.id)
        assert fresh is not None
        assert await notifications.set_mail_kinds(s, fresh, ["assigned", "no_such_kind"]) == ("assigned",)
        await commit(s, runtime.app.effects)
    await _reassign(runtime, await open_ticket(runtime, tier=1), lead, agent)
    [notice] = await _notices(runtime)
    assert notice.mail_status == "pending"


async def test_no_notice_about_a_tier_the_agent_may_not_see(runtime: Runtime, client: httpx.AsyncClient) -> None:
    """The holder lost the ticket's tier (an admin changed their tiers): a reply on it tells them nothing; a
    notice made earlier leaves their list once the ticket moves out of their tiers."""
    held = await open_ticket(runtime, tier=1)
    lead = await web_agent(runtime, role="lead", tiers=(1, 2))
    agent, token = await make_agent(runtime, tiers=(1,))
    await _reassign(runtime, held, lead, agent)
    assert [n["kind"] for n in (await client.get("/api/v1/notifications", headers=auth(token))).json()] == ["assigned"]
    async with runtime.app.sessionmaker() as s:
        fresh = await s.get(Agent, agent.id)
        assert fresh is not None
        fresh.tiers = [2]
        after_commit(s, CredentialsChanged())  # as a change of an agent's access does: every cache starts over
        await commit(s, runtime.app.effects)
    await _reply_by_mail(runtime, held)
    assert [n.kind for n in await _notices(runtime, agent.id)] == ["assigned"]
    assert (await client.get("/api/v1/notifications", headers=auth(token))).json() == []


@one_backend
async def test_a_notice_reaches_the_agents_open_pages_after_the_commit(runtime: Runtime) -> None:
    lead = await web_agent(runtime, role="lead", tiers=(1,))
    agent = await web_agent(runtime, tiers=(1,))
    ticket_id = await open_ticket(runtime, tier=1)
    assert agent.id is not None
    async with runtime.app.live.listen([f"agent:{agent.id}"]) as listener:
        await _reassign(runtime, ticket_id, lead, agent, keep=False)
        assert await listener.next(0.3) is None  # rolled back: nothing was said
        await _reassign(runtime, ticket_id, lead, agent)
        message: dict[str, Any] | None = await listener.next(3)
    assert message is not None
    assert (message["event"], message["kind"], message["ticket_id"]) == ("notification", "assigned", ticket_id)
    assert message["topic"] == f"agent:{agent.id}" and message["support_tier"] == 1
    assert json.dumps(message)  # plain JSON all the way
    await asyncio.sleep(0)


def test_a_holders_notice_mails_its_own_words() -> None:
    from router.notifications.mail import compose
    from router.rendering import make_templates
    from router.settings import Settings

    agent = Agent(id=3, name="Ada", email="ada@support.example", role="agent", tiers=[1])
    payload = {
        "ref": "T-000042",
        "subject": "Refund",
        "support_tier": 1,
        "text": "T-000042 was assigned to you by Lena",
    }
    notice = Notification(id=9, agent_id=3, kind="assigned", ticket_id=42, payload=payload)
    mail = compose(notice, agent, settings=Settings(), templates=make_templates())
    assert str(mail["Subject"]) == "Assigned to you: T-000042"
    body = mail.get_content()
    assert "T-000042 was assigned to you by Lena." in body and "/ui/tickets/42" in body and "lead" not in body


async def test_mail_settings_through_the_api_and_the_page(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, tiers=(1,))
    assert (await client.get("/api/v1/notifications/settings", headers=auth(token))).json() == {
        "mail_kinds": ["sla_breach", "breach_predicted", "customer_at_risk"]  # leads' alerts come by mail
    }
    chosen = {"mail_kinds": ["requester_replied", "assigned"]}
    put = await client.put("/api/v1/notifications/settings", json=chosen, headers=auth(token))
    assert put.status_code == 200 and put.json() == {"mail_kinds": ["assigned", "requester_replied"]}
    bad = await client.put("/api/v1/notifications/settings", json={"mail_kinds": ["spam"]}, headers=auth(token))
    assert bad.status_code == 422

    page_agent = await web_agent(runtime, tiers=(1,))
    token_ui = await sign_in(client, page_agent)
    listing = await client.get("/ui/notifications")
    assert listing.status_code == 200 and "No notifications yet" in listing.text
    assert 'value="sla_breach" checked' in listing.text and 'value="assigned" >' in listing.text
    saved = await client.post(
        "/ui/notifications/settings", data={"csrf_token": token_ui, "mail": ["assigned", "sla_warning"]}
    )
    assert saved.status_code == 303
    async with runtime.app.sessionmaker() as s:
        assert page_agent.id is not None
        assert await notifications.mail_kinds(s, page_agent.id) == ("assigned", "sla_warning")


async def test_the_page_lists_opens_and_counts_notices(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead = await web_agent(runtime, role="lead", tiers=(1,), name="Lena")
    agent = await web_agent(runtime, tiers=(1,))
    first, second = await open_ticket(runtime, tier=1), await open_ticket(runtime, tier=1, subject="Second")
    await _reassign(runtime, first, lead, agent)
    await _reassign(runtime, second, lead, agent)
    token = await sign_in(client, agent)
    home = (await client.get("/ui/")).text
    assert "data-unread-count>2<" in home
    listing = (await client.get("/ui/notifications")).text
    assert listing.count('class="notification unread"') == 2 and "was assigned to you by Lena" in listing
    [notice, _] = [n for n in await _notices(runtime) if n.ticket_id == first] + [None]
    assert notice is not None
    opened = await client.post(f"/ui/notifications/{notice.id}/open", data={"csrf_token": token})
    assert opened.status_code == 303 and opened.headers["location"] == f"/ui/tickets/{first}"
    assert "data-unread-count>1<" in (await client.get("/ui/notifications")).text
    done = await client.post("/ui/notifications/read-all", data={"csrf_token": token}, follow_redirects=True)
    assert "1 notification marked read." in done.text and "data-unread-count>0<" in done.text
    other = await web_agent(runtime, tiers=(1,))
    other_token = await sign_in(client, other)
    stolen = await client.post(f"/ui/notifications/{notice.id}/open", data={"csrf_token": other_token})
    assert stolen.status_code == 404


@one_backend
async def test_a_notice_made_while_the_page_loaded_is_replayed_when_its_stream_opens(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """Pub/sub keeps nothing: a notice committed after the page was rendered but before its stream subscribed
    (a slow page, a reconnect) is replayed from the database, once, and only what came after the page's own."""
    lead = await web_agent(runtime, role="lead", tiers=(1,), name="Lena")
    agent = await web_agent(runtime, tiers=(1,))
    first, second = await open_ticket(runtime, tier=1), await open_ticket(runtime, tier=1)
    await _reassign(runtime, first, lead, agent)
    await sign_in(client, agent)
    home = (await client.get("/ui/")).text
    since = int(re.search(r"since=(\d+)", home).group(1))  # type: ignore[union-attr]
    assert "data-unread-count>1<" in home and since == (await _notices(runtime, agent.id))[-1].id
    await _reassign(runtime, second, lead, agent)  # while the page's stream is still connecting

    stream = streams.page_events(
        runtime.app.live,
        runtime.app.tier_queue,
        streams.Viewer.of(agent),
        tiers=[],
        ticket_id=None,
        poll_seconds=0.05,
        missed=live_pages._missed_notifications(runtime.app, agent.id),
        since=since,
    )
    assert await anext(stream) == "retry: 3000\n\n"
    replayed = await anext(stream)
    newest = (await _notices(runtime, agent.id))[-1]
    assert replayed.startswith(f"id: {newest.id}\nevent: notification\n")
    assert json.loads(replayed.split("data: ", 1)[1])["ticket_id"] == second
    await stream.aclose()

    again = streams.page_events(
        runtime.app.live,
        runtime.app.tier_queue,
        streams.Viewer.of(agent),
        tiers=[],
        ticket_id=None,
        poll_seconds=0.05,
        missed=live_pages._missed_notifications(runtime.app, agent.id),
        since=live_pages._event_id(str(newest.id)),  # the browser's Last-Event-ID on a reconnect
        max_seconds=0.2,
    )
    assert [c for c in [chunk async for chunk in again] if "event: notification" in c] == []
    assert [live_pages._event_id(h) for h in ("12", "", "-1", "x", "9" * 30)] == [12, 0, 0, 0, 0]
