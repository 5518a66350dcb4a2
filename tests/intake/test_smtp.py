"""The SMTP listener on a loopback port: real SMTP conversations with aiosmtplib."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import pytest
import structlog.testing
from sqlmodel import select

from queues.runtime import Runtime
from router.intake.smtp import serve_smtp
from router.models.tickets import Ticket
from tests.conftest import free_port


@pytest.fixture
async def smtp_port(runtime: Runtime) -> AsyncIterator[int]:
    runtime.app.settings = runtime.app.settings.model_copy(
        update={"support_addresses": ["support@help.example"], "max_email_bytes": 200_000}
    )
    port = free_port()
    server = await serve_smtp(runtime.app, "127.0.0.1", port)
    yield port
    server.close()
    await server.wait_closed()


def message(to: str = "support@help.example", body: str = "The sync fails with an error.") -> EmailMessage:
    m = EmailMessage()
    m["From"] = "Kim <kim@acme.example>"
    m["To"] = to
    m["Subject"] = "Sync broken"
    m["Message-ID"] = make_msgid(domain="acme.example")
    m.set_content(body)
    return m


async def test_mail_to_the_listener_becomes_a_ticket(runtime: Runtime, smtp_port: int) -> None:
    errors, reply = await aiosmtplib.send(message(), hostname="127.0.0.1", port=smtp_port)
    assert errors == {}
    assert reply.startswith("2.0.0 Accepted: T-")
    async with runtime.app.sessionmaker() as s:
        ticket = (await s.exec(select(Ticket))).one()
    assert (ticket.subject, ticket.requester_email, ticket.recipient) == (
        "Sync broken",
        "kim@acme.example",
        "support@help.example",
    )
    assert ticket.source == "email:smtp"
    assert reply.endswith(f"Accepted: T-{ticket.id:06d}")


async def test_unknown_recipients_are_refused(runtime: Runtime, smtp_port: int) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await aiosmtplib.send(message(to="random@help.example"), hostname="127.0.0.1", port=smtp_port)
    assert refused.value.recipients[0].code == 550
    async with runtime.app.sessionmaker() as s:
        assert (await s.exec(select(Ticket))).first() is None


async def test_oversized_and_unreadable_mail_are_refused(runtime: Runtime, smtp_port: int) -> None:
    with pytest.raises(aiosmtplib.SMTPResponseException) as too_big:
        await aiosmtplib.send(message(body="x" * 300_000), hostname="127.0.0.1", port=smtp_port)
    assert too_big.value.code == 552
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp_port)
    await smtp.connect()
    with pytest.raises(aiosmtplib.SMTPDataError) as unreadable:
        await smtp.sendmail("x@acme.example", ["support@help.example"], b"Subject: no sender\r\n\r\n")
    await smtp.quit()
    assert unreadable.value.code == 554 and "no sender" in unreadable.value.message
    async with runtime.app.sessionmaker() as s:
        assert (await s.exec(select(Ticket))).first() is None


async def test_a_repeated_message_id_is_logged_as_a_duplicate(runtime: Runtime, smtp_port: int) -> None:
    """The log says what happened to this copy: the second delivery of a Message-ID made nothing."""
    sent = message()
    with structlog.testing.capture_logs() as logs:
        for _ in range(2):
            errors, _reply = await aiosmtplib.send(sent, hostname="127.0.0.1", port=smtp_port)
            assert errors == {}
    received = [e for e in logs if e["event"] == "smtp_received"]
    assert [(e["outcome"], e["duplicate"]) for e in received] == [("created", False), ("duplicate", True)]
    assert received[1]["first_outcome"] == "created" and received[1]["ticket"] == received[0]["ticket"]
    async with runtime.app.sessionmaker() as s:
        assert len((await s.exec(select(Ticket))).all()) == 1
