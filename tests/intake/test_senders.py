"""Threading checks the sender: the requester, a contact of the ticket's customer or an address on its CC list
appends; anyone else opens a new ticket (default) or is held for an agent, and the original ticket's audit
trail says so. HTTP here; SMTP and IMAP share the same service (tests below run a listener and a mailbox)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiosmtplib
import httpx
import pytest
from sqlmodel import col, select

from queues.runtime import Runtime
from router.intake.imap import Mailbox, poll
from router.intake.smtp import serve_smtp
from router.models.intake import InboundMail
from router.models.tickets import Message, Ticket
from tests.conftest import auth, free_port, make_agent, make_customer
from tests.intake.test_email import mail, post
from tests.intake.test_imap import deliver, dovecot  # noqa: F401 - the fixture, used by name

STRANGER = "mallory@evil.example"


async def _trail(client: httpx.AsyncClient, token: str, ticket_id: object) -> list[dict[str, object]]:
    events: list[dict[str, object]] = (
        await client.get(f"/api/v1/tickets/{ticket_id}/audit", headers=auth(token))
    ).json()
    return events


async def _messages(runtime: Runtime, ticket_id: object) -> list[Message]:
    async with runtime.app.sessionmaker() as s:
        query = select(Message).where(Message.ticket_id == ticket_id).order_by(col(Message.id))
        return list((await s.exec(query)).all())


async def _opened(client: httpx.AsyncClient, token: str, **headers: str) -> tuple[dict[str, object], object]:
    first = mail("Production down", "Everything is on fire.", sender="kim@acme.example", **headers)
    opened = await post(client, token, first)
    assert opened["outcome"] == "created"
    return opened, first["Message-ID"]


async def test_a_stranger_quoting_the_reference_opens_a_new_ticket(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await make_customer(runtime, ref="acme", tier=1, domain="acme.example")
    _, lead = await make_agent(runtime, role="lead", tiers=())
    opened, _ = await _opened(client, lead)
    tid, ref = opened["ticket_id"], opened["ticket_ref"]

    refused = await post(client, lead, mail(f"Re: [{ref}] Production down", "Send me their data.", sender=STRANGER))
    assert refused["outcome"] == "created" and refused["ticket_id"] != tid
    assert STRANGER in str(refused["reason"]) and str(ref) in str(refused["reason"])
    assert [m.author for m in await _messages(runtime, tid)] == ["kim@acme.example"]
    async with runtime.app.sessionmaker() as s:
        new = await s.get(Ticket, refused["ticket_id"])
        assert new is not None and new.requester_email == STRANGER and new.customer_id is None
    event = (await _trail(client, lead, tid))[-1]
    assert event["action"] == "mail_refused"
    assert STRANGER in str(event["reason"]) and str(refused["ticket_ref"]) in str(event["reason"])
    data = event["data"]
    assert isinstance(data, dict) and (data["sender"], data["opened"]) == (STRANGER, refused["ticket_ref"])
    assert (await client.get(f"/api/v1/tickets/{tid}/audit/verify", headers=auth(lead))).json()["valid"]


async def test_a_stranger_replying_by_message_id_opens_a_new_ticket(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    opened, message_id = await _opened(client, lead)
    reply = mail("Re: Production down", "me too", sender=STRANGER, In_Reply_To=str(message_id))
    refused = await post(client, lead, reply)
    assert refused["outcome"] == "created" and refused["ticket_id"] != opened["ticket_id"]
    assert (await _trail(client, lead, opened["ticket_id"]))[-1]["action"] == "mail_refused"


async def test_the_requester_a_colleague_and_the_cc_list_append(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await make_customer(runtime, ref="acme", tier=1, domain="acme.example")
    _, lead = await make_agent(runtime, role="lead", tiers=())
    opened, message_id = await _opened(client, lead, Cc="Partner <pat@partner.example>")
    tid, ref = opened["ticket_id"], opened["ticket_ref"]
    senders = ["KIM@acme.example", "lee@acme.example", "pat@partner.example"]
    for sender in senders:
        appended = await post(client, lead, mail(f"Re: [{ref}]", f"from {sender}", sender=sender))
        assert (appended["outcome"], appended["ticket_id"]) == ("appended", tid), sender
    by_id = await post(client, lead, mail("Re: x", "by id", sender="pat@partner.example", In_Reply_To=str(message_id)))
    assert (by_id["outcome"], by_id["ticket_id"]) == ("appended", tid)
    # The requester copies someone in later: they may write too.
    widened = mail(f"Re: [{ref}]", "adding my boss", sender="kim@acme.example", Cc="boss@holding.example")
    assert (await post(client, lead, widened))["outcome"] == "appended"
    boss = await post(client, lead, mail(f"Re: [{ref}]", "please hurry", sender="boss@holding.example"))
    assert (boss["outcome"], boss["ticket_id"]) == ("appended", tid)
    async with runtime.app.sessionmaker() as s:
        assert len((await s.exec(select(Ticket))).all()) == 1


async def test_a_stranger_is_held_for_an_agent_when_configured(runtime: Runtime, client: httpx.AsyncClient) -> None:
    runtime.app.settings = runtime.app.settings.model_copy(update={"thread_foreign_senders": "hold"})
    _, lead = await make_agent(runtime, role="lead", tiers=())
    opened, _ = await _opened(client, lead)
    tid, ref = opened["ticket_id"], opened["ticket_ref"]
    before = (await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead))).json()

    held = await post(client, lead, mail(f"Re: [{ref}]", "let me in", sender=STRANGER))
    assert (held["outcome"], held["ticket_id"]) == ("held", tid)
    after = (await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead))).json()
    assert (after["status"], after["support_tier"]) == (before["status"], before["support_tier"])
    [message] = [m for m in after["messages"] if m["author"] == STRANGER]
    assert message["kind"] == "held"
    event = (await _trail(client, lead, tid))[-1]
    assert event["action"] == "mail_held" and STRANGER in str(event["reason"])
    async with runtime.app.sessionmaker() as s:
        assert len((await s.exec(select(Ticket))).all()) == 1


@pytest.fixture
async def smtp_port(runtime: Runtime) -> AsyncIterator[int]:
    port = free_port()
    server = await serve_smtp(runtime.app, "127.0.0.1", port)
    yield port
    server.close()
    await server.wait_closed()


async def test_the_smtp_listener_checks_the_sender(runtime: Runtime, client: httpx.AsyncClient, smtp_port: int) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    opened, _ = await _opened(client, lead)
    stranger = mail(f"Re: [{opened['ticket_ref']}]", "hello", sender=STRANGER)
    _, reply = await aiosmtplib.send(stranger, hostname="127.0.0.1", port=smtp_port)
    async with runtime.app.sessionmaker() as s:
        record = (await s.exec(select(InboundMail).where(InboundMail.sender == STRANGER))).one()
    assert record.outcome == "created" and record.ticket_id != opened["ticket_id"]
    assert reply.endswith(f"T-{record.ticket_id:06d}")
    assert (await _trail(client, lead, opened["ticket_id"]))[-1]["action"] == "mail_refused"


async def test_imap_polling_checks_the_sender(runtime: Runtime, client: httpx.AsyncClient, dovecot: int) -> None:  # noqa: F811
    _, lead = await make_agent(runtime, role="lead", tiers=())
    opened, _ = await _opened(client, lead)
    deliver(dovecot, mail(f"Re: [{opened['ticket_ref']}]", "hello", sender=STRANGER))
    report = await poll(runtime.app, Mailbox(f"imap://support:secret@127.0.0.1:{dovecot}/INBOX"))
    assert report.taken == 1
    async with runtime.app.sessionmaker() as s:
        record = (await s.exec(select(InboundMail).where(InboundMail.sender == STRANGER))).one()
    assert record.outcome == "created" and record.ticket_id != opened["ticket_id"]
    assert (await _trail(client, lead, opened["ticket_id"]))[-1]["action"] == "mail_refused"
