"""Mail that would hold a process: nesting deeper than the limit and header blocks longer than it are
refused at once (a 4xx problem over HTTP, a permanent 5xx over SMTP), before the parser spends on them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiosmtplib
import httpx
import pytest

from queues.runtime import Runtime
from router.intake.limits import MAX_DEPTH, MAX_HEADER_LINES, TooComplexEmail
from router.intake.mime import parse_email
from router.intake.smtp import serve_smtp
from tests.conftest import auth, free_port, make_agent, one_backend

HEAD = b"From: Kim <kim@acme.example>\r\nTo: support@help.example\r\nSubject: Sync broken\r\nMIME-Version: 1.0\r\n"


def nested(depth: int) -> bytes:
    """A mail whose body is ``depth`` multiparts, each inside the one before."""
    inner = b"Content-Type: text/plain\r\n\r\nThe sync fails.\r\n"
    for level in range(depth):
        b = f"level{level}".encode()
        inner = b"Content-Type: multipart/mixed; boundary=%s\r\n\r\n--%s\r\n%s\r\n--%s--\r\n" % (b, b, inner, b)
    return HEAD + b"Message-ID: <nested-%d@acme.example>\r\n" % depth + inner


def many_headers(count: int, *, in_part: bool = False) -> bytes:
    """A mail with ``count`` extra header lines, at the top or in its one attachment's header block."""
    filler = b"".join(b"X-Filler-%d: %d\r\n" % (i, i) for i in range(count))
    if not in_part:
        return HEAD + b"Message-ID: <headers-%d@acme.example>\r\n" % count + filler + b"\r\nThe sync fails.\r\n"
    return (
        HEAD
        + b"Message-ID: <part-headers-%d@acme.example>\r\n" % count
        + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe sync fails.\r\n"
        + b"--b\r\nContent-Type: application/octet-stream\r\n"
        + filler
        + b"\r\nAAAA\r\n--b--\r\n"
    )


def test_mail_within_the_limits_parses() -> None:
    assert parse_email(nested(MAX_DEPTH - 2)).text == "The sync fails."
    assert parse_email(many_headers(MAX_HEADER_LINES - 10)).text == "The sync fails."


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (nested(1000), f"nested more than {MAX_DEPTH} levels deep"),
        (many_headers(200_000), f"more than {MAX_HEADER_LINES} header lines"),
        (many_headers(MAX_HEADER_LINES + 10, in_part=True), f"more than {MAX_HEADER_LINES} header lines"),
    ],
    ids=["nesting", "headers", "headers-in-a-part"],
)
def test_mail_beyond_the_limits_is_refused_quickly(raw: bytes, says: str) -> None:
    started = time.perf_counter()
    with pytest.raises(TooComplexEmail) as refused:
        parse_email(raw)
    assert says in str(refused.value)
    assert time.perf_counter() - started < 0.5, "refused before the parser spends on it"


@one_backend
async def test_http_intake_answers_a_422_problem_beyond_the_limits(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    headers = {**auth(token), "Content-Type": "message/rfc822"}
    for raw, says in ((nested(1000), "nested more than"), (many_headers(200_000), "header lines")):
        r = await client.post("/api/v1/intake/email", content=raw, headers=headers)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert says in r.json()["detail"]


@pytest.fixture
async def smtp_port(runtime: Runtime) -> AsyncIterator[int]:
    runtime.app.settings = runtime.app.settings.model_copy(update={"support_addresses": ["support@help.example"]})
    port = free_port()
    server = await serve_smtp(runtime.app, "127.0.0.1", port)
    yield port
    server.close()
    await server.wait_closed()


@one_backend
async def test_the_smtp_listener_refuses_mail_beyond_the_limits_with_a_5xx(runtime: Runtime, smtp_port: int) -> None:
    for raw in (nested(1000), many_headers(50_000)):
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await aiosmtplib.send(
                raw,
                sender="kim@acme.example",
                recipients=["support@help.example"],
                hostname="127.0.0.1",
                port=smtp_port,
            )
        assert refused.value.code == 554
        assert "5.6.0" in refused.value.message and "limit" in refused.value.message
