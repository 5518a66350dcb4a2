"""Email intake over HTTP on the real-world corpus, threading, loops, dedupe and limits."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from queues.runtime import Runtime
from queues.worker import drain
from router.intake.mime import UnreadableEmail, parse_email
from router.models.intake import InboundMail
from router.models.tickets import Attachment, Message, Ticket
from tests.conftest import MAIL_CORPUS, auth, corpus_messages, make_agent

MESSAGES = corpus_messages()
RFC822 = {"content-type": "message/rfc822"}


async def count(runtime: Runtime, model: type) -> int:
    async with runtime.app.sessionmaker() as s:
        return int((await s.exec(select(func.count()).select_from(model))).one())


def test_the_corpus_is_there() -> None:
    assert len(MESSAGES) == 104, f"expected the 104 corpus messages under {MAIL_CORPUS}"


async def test_every_corpus_message_becomes_a_ticket_or_a_clear_refusal(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """Each message opens a ticket, lands on the ticket it answers, is set aside as a delivery report or
    bulk mail (with its reason), or is refused with a 4xx problem saying why. The corpus repeats some
    Message-IDs (the same mail with other line endings): a repeat returns the first outcome, as it must."""
    runtime.app.settings = runtime.app.settings.model_copy(update={"mail_rate_limit": 1000})
    _, token = await make_agent(runtime)
    created: dict[int, Path] = {}
    refused: list[str] = []
    outcomes: dict[str, int] = {}
    for path in MESSAGES:
        raw = path.read_bytes()
        r = await client.post("/api/v1/intake/email", content=raw, headers={**auth(token), **RFC822})
        assert r.status_code < 500, (path, r.text)
        if r.status_code >= 400:
            assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
            assert r.json()["detail"].startswith("unreadable email: "), r.text
            refused.append(path.name)
            continue
        body = r.json()
        outcomes[body["outcome"]] = outcomes.get(body["outcome"], 0) + 1
        if "multipart_report" in str(path):
            assert body["outcome"] in ("dropped", "attached"), (path, body)
            assert "delivery report" in body["reason"]
        if body["outcome"] == "dropped":
            assert body["reason"].startswith(("delivery report", "bulk mail")), (path, body)
        if body["outcome"] == "created" and not body["duplicate"]:
            created[body["ticket_id"]] = path
        if body["outcome"] in ("created", "appended", "attached"):
            assert body["ticket_id"] is not None
    assert set(refused) >= {"sample_output_multipart"}
    assert len(refused) <= 4, refused  # only mail with no sender or nothing in it is refused
    assert len(created) >= 60, outcomes
    async with runtime.app.sessionmaker() as s:
        for ticket_id, path in created.items():
            ticket = await s.get(Ticket, ticket_id)
            parsed = parse_email(path.read_bytes())
            assert ticket is not None
            assert ticket.subject == (parsed.subject or "(no subject)"), path
            assert ticket.requester_email == parsed.sender, path
            assert ticket.channel == "email"
            first = (await s.exec(select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id))).first()
            assert first is not None and first.raw_sha256
            assert runtime.app.blobs.get(first.raw_sha256) == path.read_bytes()
            assert first.body_text.strip() or parsed.attachments or not parsed.text, path
            files = (await s.exec(select(Attachment).where(Attachment.message_id == first.id))).all()
            assert [a.filename for a in files] == [a.filename for a in parsed.attachments], path
    # Nothing half-written: one ticket per "created", one ledger row per distinct accepted Message-ID.
    assert await count(runtime, Ticket) == len(created)
    assert await count(runtime, InboundMail) == len(MESSAGES) - len(refused) - _duplicates_in_corpus()
    await drain(runtime)
    async with runtime.app.sessionmaker() as s:
        assert (await s.exec(select(func.count()).select_from(Ticket).where(Ticket.status == "new"))).one() == 0


def _duplicates_in_corpus() -> int:
    ids: list[str] = []
    for path in MESSAGES:
        try:
            ids.append(parse_email(path.read_bytes()).message_id)
        except UnreadableEmail:
            continue
    return len(ids) - len(set(ids))


def mail(subject: str, body: str, *, sender: str = "kim@acme.example", **headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "support@help.example"
    m["Subject"] = subject
    m["Message-ID"] = make_msgid(domain="acme.example")
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(body)
    return m


async def post(client: httpx.AsyncClient, token: str, message: EmailMessage) -> dict[str, object]:
    r = await client.post("/api/v1/intake/email", content=message.as_bytes(), headers={**auth(token), **RFC822})
    assert r.status_code == 202, r.text
    result: dict[str, object] = r.json()
    return result


async def test_replies_thread_onto_their_ticket_and_reopen_it(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    first = mail("Cannot export", "The export button is grey.")
    opened = await post(client, lead, first)
    tid = opened["ticket_id"]
    await drain(runtime)
    await client.post(f"/api/v1/tickets/{tid}/resolve", json={"resolution": "enabled"}, headers=auth(lead))

    reply = mail(
        "Re: Cannot export",
        "Still grey for me.\n\nOn Mon, Nov 23, 2026 at 10:00 AM Support <support@help.example> wrote:\n> enabled\n",
        In_Reply_To=str(first["Message-ID"]),
        References=str(first["Message-ID"]),
    )
    appended = await post(client, lead, reply)
    assert (appended["outcome"], appended["ticket_id"]) == ("appended", tid)
    ticket = (await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead))).json()
    assert ticket["status"] == "queued" and ticket["reopen_count"] == 1
    assert ticket["messages"][-1]["body_text"] == "Still grey for me."  # quote stripped, raw kept
    by_ref = await post(client, lead, mail(f"Update [{ticket['ref']}]", "One more detail."))
    assert (by_ref["outcome"], by_ref["ticket_id"]) == ("appended", tid)
    trail = [e["action"] for e in (await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(lead))).json()]
    assert trail[-3:] == ["reopened", "customer_replied", "customer_replied"]
    assert (await client.get(f"/api/v1/tickets/{tid}/audit/verify", headers=auth(lead))).json()["valid"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"X_Autoreply": "yes"},
        {"Precedence": "bulk"},
        {"Return_Path": "<>"},
    ],
)
async def test_automatic_mail_never_opens_tickets(
    runtime: Runtime, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    _, token = await make_agent(runtime)
    dropped = await post(client, token, mail("Out of office", "I am away.", **headers))
    assert dropped["outcome"] == "dropped" and dropped["ticket_id"] is None and dropped["reason"]
    assert await count(runtime, Ticket) == 0
    original = mail("Help", "Please help")
    tid = (await post(client, token, original))["ticket_id"]
    attached = await post(
        client, token, mail("Out of office", "Away", In_Reply_To=str(original["Message-ID"]), **headers)
    )
    assert (attached["outcome"], attached["ticket_id"]) == ("attached", tid)
    assert await count(runtime, Ticket) == 1


async def test_auto_reply_suppression_keeps_automation_quiet(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    quiet = await post(client, lead, mail("List question", "How do I join?", List_Unsubscribe="<mailto:x@y.example>"))
    loud = await post(client, lead, mail("Other question", "How do I leave?", sender="jo@acme.example"))
    await drain(runtime)
    for result, expected in ((quiet, "automation_skipped"), (loud, "automation")):
        trail = (await client.get(f"/api/v1/tickets/{result['ticket_id']}/audit", headers=auth(lead))).json()
        assert trail[-1]["action"] == expected


async def test_same_message_id_never_makes_two_tickets(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime)
    message = mail("Invoice", "Wrong amount")
    results = await asyncio.gather(*(post(client, token, message) for _ in range(10)))
    assert len({r["ticket_id"] for r in results}) == 1
    assert sum(not r["duplicate"] for r in results) == 1
    assert await count(runtime, Ticket) == 1


async def test_mail_storm_from_one_sender_is_rate_limited(runtime: Runtime, client: httpx.AsyncClient) -> None:
    runtime.app.settings = runtime.app.settings.model_copy(update={"mail_rate_limit": 3})
    _, token = await make_agent(runtime)
    outcomes = [(await post(client, token, mail(f"Storm {i}", "again")))["outcome"] for i in range(5)]
    assert outcomes == ["created", "created", "created", "dropped", "dropped"]
    assert await count(runtime, Ticket) == 3


async def test_wrong_content_type_and_oversized_mail(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime)
    r = await client.post("/api/v1/intake/email", content=b"x", headers={**auth(token), "content-type": "text/plain"})
    assert r.status_code == 415
    big = b"From: a@b.example\r\nSubject: big\r\n\r\n" + b"x" * (runtime.app.settings.max_email_bytes + 1)
    r = await client.post("/api/v1/intake/email", content=big, headers={**auth(token), **RFC822})
    assert r.status_code == 413
    assert await count(runtime, InboundMail) == 0
