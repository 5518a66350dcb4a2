"""Outbound mail round trips on loopback: an agent's reply reaches a real SMTP server with threading
headers, the customer's answer lands on the same ticket, failures are retried and shown."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from queues.runtime import Runtime
from queues.worker import drain
from tests.conftest import auth, free_port, make_agent

RFC822 = {"content-type": "message/rfc822"}


@dataclass
class Sink:
    """A real SMTP server that keeps what it receives; it can refuse the first few deliveries."""

    refuse_first: int = 0
    received: list[EmailMessage] = field(default_factory=list)
    attempts: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.attempts += 1
        if self.attempts <= self.refuse_first:
            return "451 4.3.0 try again later"
        raw = envelope.original_content or b""
        parsed: Any = email.message_from_bytes(raw, policy=email.policy.default)
        self.received.append(parsed)
        return "250 OK"


async def start_sink(sink: Sink) -> tuple[asyncio.Server, int]:
    loop = asyncio.get_running_loop()
    port = free_port()
    server = await loop.create_server(lambda: SMTP(sink, loop=loop), host="127.0.0.1", port=port)
    return server, port


@pytest.fixture
async def sink(runtime: Runtime) -> AsyncIterator[Sink]:
    collector = Sink()
    server, port = await start_sink(collector)
    runtime.app.settings = runtime.app.settings.model_copy(
        update={"smtp_url": f"smtp://127.0.0.1:{port}", "mail_from": "Help Desk <help@desk.example>"}
    )
    yield collector
    server.close()
    await server.wait_closed()


def customer_mail(subject: str, body: str, **headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "Kim <kim@acme.example>"
    m["To"] = "help@desk.example"
    m["Subject"] = subject
    m["Message-ID"] = email.utils.make_msgid(domain="acme.example")
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(body)
    return m


async def test_reply_round_trip_threads_correctly(runtime: Runtime, client: httpx.AsyncClient, sink: Sink) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    first = customer_mail("Export is broken", "The export button errors out.")
    opened = await client.post("/api/v1/intake/email", content=first.as_bytes(), headers={**auth(lead), **RFC822})
    tid = opened.json()["ticket_id"]
    await drain(runtime)  # route, acknowledge, send the acknowledgement
    ack = sink.received[0]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == first["Message-ID"]

    await client.post(f"/api/v1/tickets/{tid}/messages", json={"body": "Fixed, please retry."}, headers=auth(lead))
    await drain(runtime)
    reply = sink.received[-1]
    ref = f"T-{tid:06d}"
    assert reply["To"] == "kim@acme.example"
    assert reply["Subject"] == f"Re: [{ref}] Export is broken"
    assert reply["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in reply["References"] and ack["Message-ID"] in reply["References"]
    assert reply["Message-ID"].endswith("@desk.example>")
    assert "Auto-Submitted" not in reply
    assert "Fixed, please retry." in reply.get_content()

    answer = customer_mail(
        "Re: Export is broken", "Works now, thanks!", In_Reply_To=reply["Message-ID"], References=reply["Message-ID"]
    )
    landed = await client.post("/api/v1/intake/email", content=answer.as_bytes(), headers={**auth(lead), **RFC822})
    assert (landed.json()["outcome"], landed.json()["ticket_id"]) == ("appended", tid)
    ticket = (await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead))).json()
    sent = [m for m in ticket["messages"] if m["direction"] == "outbound"]
    assert {m["delivery_status"] for m in sent} == {"sent"}


async def test_failed_sends_are_retried_and_visible(runtime: Runtime, client: httpx.AsyncClient, sink: Sink) -> None:
    sink.refuse_first = 2
    runtime.app.settings = runtime.app.settings.model_copy(update={"mail_send_attempts": 4})
    _, lead = await make_agent(runtime, role="lead", tiers=())
    opened = await client.post(
        "/api/v1/intake/email", content=customer_mail("Hello", "Question").as_bytes(), headers={**auth(lead), **RFC822}
    )
    tid = opened.json()["ticket_id"]
    # arq defers retries by 2 and 4 seconds; drain waits for them.
    await drain(runtime)
    assert sink.attempts == 3 and len(sink.received) == 1
    trail = [e["action"] for e in (await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(lead))).json()]
    assert trail.count("mail_attempt_failed") == 2 and trail[-1] == "mail_sent"


async def test_a_message_that_never_goes_out_is_marked_failed(
    runtime: Runtime, client: httpx.AsyncClient, sink: Sink
) -> None:
    sink.refuse_first = 99
    runtime.app.settings = runtime.app.settings.model_copy(update={"mail_send_attempts": 2})
    _, lead = await make_agent(runtime, role="lead", tiers=())
    opened = await client.post(
        "/api/v1/intake/email", content=customer_mail("Hello", "Question").as_bytes(), headers={**auth(lead), **RFC822}
    )
    await drain(runtime)
    ticket = (await client.get(f"/api/v1/tickets/{opened.json()['ticket_id']}", headers=auth(lead))).json()
    (ack,) = [m for m in ticket["messages"] if m["direction"] == "outbound"]
    assert ack["delivery_status"] == "failed"
    assert ack["delivery_error"].startswith("attempt 2: SMTP")


async def test_without_an_smtp_server_mail_stays_pending_and_queues_no_jobs(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    from queues.names import MAIL_QUEUE

    _, lead = await make_agent(runtime, role="lead", tiers=())
    opened = await client.post(
        "/api/v1/intake/email", content=customer_mail("Hello", "Question").as_bytes(), headers={**auth(lead), **RFC822}
    )
    await drain(runtime)
    assert await runtime.pool.zcard(MAIL_QUEUE) == 0
    ticket = (await client.get(f"/api/v1/tickets/{opened.json()['ticket_id']}", headers=auth(lead))).json()
    assert [m["delivery_status"] for m in ticket["messages"] if m["direction"] == "outbound"] == ["pending"]
