"""Fuzzing email intake with mutated corpus messages: the parser only ever says "unreadable", and the
HTTP intake never answers 5xx or leaves half a ticket behind."""

from __future__ import annotations

import random

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from queues.runtime import Runtime
from router.intake.mime import UnreadableEmail, parse_email
from router.models.intake import InboundMail
from router.models.tickets import Message, Ticket
from tests.conftest import auth, make_agent
from tests.intake.test_email import MESSAGES, RFC822

CORPUS_BYTES = [p.read_bytes() for p in MESSAGES]


def mutate(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 6)):
        kind = rng.randrange(7)
        at = rng.randrange(len(data) + 1)
        if kind == 0 and data:  # flip a byte
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif kind == 1:  # truncate
            del data[at:]
        elif kind == 2:  # insert junk
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        elif kind == 3:  # drop the header/body separator
            data = bytearray(bytes(data).replace(b"\r\n\r\n", b"\r\n", 1).replace(b"\n\n", b"\n", 1))
        elif kind == 4:  # a broken MIME boundary or charset
            data = bytearray(
                bytes(data).replace(b"boundary=", b'boundary="\x00', 1).replace(b"charset=", b"charset=x-", 1)
            )
        elif kind == 5:  # a header line repeated many times
            data[0:0] = b"Received: from x\r\n" * rng.randint(1, 200)
        else:  # stray encoded words
            data[at:at] = b"=?utf-8?B?////?= =?bogus?Q?=ZZ?="
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CORPUS_BYTES), st.integers(0, 2**32))
def test_parser_never_fails_other_than_unreadable(raw: bytes, seed: int) -> None:
    mutated = mutate(raw, random.Random(seed))
    try:
        parsed = parse_email(mutated)
    except UnreadableEmail as exc:
        # The catch-all in parse_email is a safety net: no mutation should need it.
        assert "could not be parsed" not in str(exc), repr(exc.__cause__)
        return
    assert parsed.sender and "@" in parsed.sender
    assert parsed.message_id.startswith("<")
    assert isinstance(parsed.text, str) and len(parsed.subject) <= 500


async def test_mutated_mail_over_http_never_5xx_nor_half_written(runtime: Runtime, client: httpx.AsyncClient) -> None:
    runtime.app.settings = runtime.app.settings.model_copy(update={"mail_rate_limit": 10_000})
    _, token = await make_agent(runtime)
    rng = random.Random(20261123)
    accepted: set[str] = set()
    for _ in range(150):
        raw = mutate(rng.choice(CORPUS_BYTES), rng)
        r = await client.post("/api/v1/intake/email", content=raw, headers={**auth(token), **RFC822})
        assert r.status_code < 500, r.text
        if r.status_code == 202:
            accepted.add(parse_email(raw).message_id)
        else:
            assert r.status_code in (413, 422) and r.headers["content-type"] == "application/problem+json"
    async with runtime.app.sessionmaker() as s:
        ledger = (await s.exec(select(func.count()).select_from(InboundMail))).one()
        created = (
            await s.exec(select(func.count()).select_from(InboundMail).where(InboundMail.outcome == "created"))
        ).one()
        tickets = (await s.exec(select(func.count()).select_from(Ticket))).one()
        orphans = (
            await s.exec(select(func.count()).select_from(Ticket).where(~Ticket.id.in_(select(Message.ticket_id))))  # type: ignore[union-attr]
        ).one()
    assert ledger == len(accepted)
    assert tickets == created and orphans == 0
