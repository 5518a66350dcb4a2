"""Batched opening (``router.tickets.opening``) writes what the one-at-a-time path writes, row for row, and the
intake batcher keeps each request's outcome its own."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from queues.names import tier_queue_key
from queues.runtime import Runtime
from router.audit import service as audit
from router.effects import EnqueueJob, PlaceInQueue, PublishEvent, ScheduleTimer, take_effects
from router.errors import Invalid
from router.intake import email_service
from router.intake import service as intake
from router.intake.batcher import IntakeBatcher
from router.models import metadata
from router.models.tickets import Ticket
from router.tickets.actors import Actor
from router.tickets.inputs import NewTicket, Opened, TicketContext
from router.tickets.opening import open_batch
from router.unit_of_work import commit
from rules.vocabulary import SUPPORT_TIERS
from tests.conftest import make_customer

ISO_MOMENT = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+(\+00:00|Z)?$")
#: Columns that hold the moment or the identity of a row: they differ between any two tickets.
MOMENTS = {"id", "ref", "ticket_id", "at", "hash", "prev_hash", "created_at", "updated_at", "queued_at", "started_at",
           "tier_started_at", "running_since", "due_at", "sla_next_due_at", "warn_at", "next_at", "paused_at", "source",
           "external_id", "audit_head"}  # fmt: skip


def _plain(value: Any) -> Any:
    """A row's value with moments replaced (business-time due dates differ by the microseconds between runs)."""
    if isinstance(value, dict):
        return {k: "<moment>" if k in MOMENTS or k.endswith("_ms") else _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str) and ISO_MOMENT.match(value):
        return "<moment>"
    return value


async def _rows(runtime: Runtime, ticket_id: int) -> dict[str, Any]:
    """Everything one ticket wrote, table by table, without its moments and ids."""
    tables = {"ticket": "id", "message": "ticket_id", "audit_event": "ticket_id", "sla_clock": "ticket_id",
              "outbox_event": "ticket_id", "report_ticket": "ticket_id", "delivery": "ticket_id"}  # fmt: skip
    out: dict[str, Any] = {}
    async with runtime.app.engine.connect() as conn:
        for name, key in tables.items():
            table = metadata.tables[name]
            order = [c for c in ("seq", "kind", "type") if c in table.c] or [table.c[key]]
            rows = (await conn.execute(select(table).where(table.c[key] == ticket_id).order_by(*order))).mappings()
            out[name] = [_plain(dict(row)) for row in rows]
    return out


def _effects_of(effects: list[Any]) -> list[tuple[str, Any]]:
    """What a transaction asked of Redis, per kind, without ids (the batch names one automation job per tier)."""
    out: list[tuple[str, Any]] = []
    for e in effects:
        if isinstance(e, PlaceInQueue):
            out.append(("queue", e.tier))
        elif isinstance(e, ScheduleTimer):
            out.append(("timer", e.member.split(":", 1)[1]))
        elif isinstance(e, PublishEvent):
            out.append(("event", e.event_type))
        elif isinstance(e, EnqueueJob):
            out.append(("job", e.queue))
    return sorted(out)


CASES = [
    {"subject": "Production down: data loss", "body": "everything is gone", "email": "ops@acme.example"},
    {"subject": "How do I reset my password?", "body": "forgot it", "email": "someone@nowhere.example"},
    {
        "subject": "Invoice question",
        "body": "billing",
        "email": "a@acme.example",
        "priority": "urgent",
        "tags": ("vip",),
    },
    {"subject": "Outage", "body": "down", "email": "x@elsewhere.example", "ref": "ACME"},
]


def _item(case: dict[str, Any], n: int, source: str) -> NewTicket:
    return NewTicket(
        source=source,
        delivery_id=f"d-{n}",
        subject=case["subject"],
        body=case["body"],
        requester_email=case["email"],
        customer_ref=case.get("ref"),
        priority_hint=case.get("priority"),
        channel="api",
        actor="agent:7",
        default_customer_tier=3,
        context=TicketContext(product=case.get("product"), tags=tuple(case.get("tags", ()))),
    )


@pytest.mark.parametrize("pause_queued", [False, True], ids=["default-policies", "queued-pauses-clocks"])
async def test_a_batch_writes_what_one_at_a_time_writes(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, pause_queued: bool
) -> None:
    """The same tickets opened through ``intake.submit`` (ORM, one transaction each) and through one
    ``open_batch``: the same ticket, message, audit, clock, outbox, facts and ledger rows, and the same
    Redis effects; every batch-written chain verifies. Also with policies that pause clocks while a ticket
    is queued (the clocks start, then pause, in the same change)."""
    if pause_queued:
        from router.sla import policies as sla_policies
        from router.sla import service as sla_service
        from router.tickets import drafts

        real = sla_policies.policies_of

        def pausing(session: Any) -> Any:
            return dataclasses.replace(real(session), pause_statuses=frozenset({"queued", "waiting_on_customer"}))

        monkeypatch.setattr(sla_service, "policies_of", pausing)
        monkeypatch.setattr(drafts, "policies_of", pausing)
    await make_customer(runtime, ref="ACME", tier=1, domain="acme.example")
    rulebook = runtime.app.rulebook.current()
    single: list[tuple[int, list[Any]]] = []
    for n, case in enumerate(CASES):
        item = _item(case, n, "api:one")
        async with runtime.app.sessionmaker() as s:
            result = await intake.submit(
                s,
                runtime.app.effects,
                source=item.source,
                delivery_id=item.delivery_id,
                subject=item.subject,
                body=item.body,
                requester_email=item.requester_email,
                customer_ref=item.customer_ref,
                priority_hint=item.priority_hint,
                channel=item.channel,
                default_customer_tier=item.default_customer_tier,
                actor=Actor(item.actor),
                context=item.context,
                rulebook=rulebook,
            )
            await s.commit()
            assert result.ticket.id is not None
            single.append((result.ticket.id, take_effects(s)))
    async with runtime.app.sessionmaker() as s:
        outcomes = await open_batch(s, [_item(c, n, "api:batch") for n, c in enumerate(CASES)], rulebook)
        effects = take_effects(s)
        await s.commit()
    assert all(isinstance(o, Opened) and o.created and o.status == "queued" for o in outcomes)
    for (one_id, _), batched in zip(single, outcomes, strict=True):
        assert isinstance(batched, Opened)
        mine_rows, their_rows = await _rows(runtime, batched.ticket_id), await _rows(runtime, one_id)
        for table in mine_rows:
            for mine, theirs in zip(mine_rows[table], their_rows[table], strict=True):
                assert {k: v for k, v in mine.items() if v != theirs.get(k)} == {}, (table, theirs)
    # The same queue entries, timers and events; one automation job per tier for the whole batch (the
    # single path queued one per ticket).
    singles = [e for _, fx in single for e in fx]
    assert _effects_of([e for e in effects if not isinstance(e, EnqueueJob)]) == _effects_of(
        [e for e in singles if not isinstance(e, EnqueueJob)]
    )
    tiers = {e.queue for e in singles if isinstance(e, EnqueueJob)}
    assert sorted(str(e.queue) for e in effects if isinstance(e, EnqueueJob)) == sorted(str(t) for t in tiers)
    async with runtime.app.sessionmaker() as s:
        async for report in audit.verify_all(s):
            assert report.valid, report
    clocks = metadata.tables["sla_clock"]
    async with runtime.app.engine.connect() as conn:
        paused = (await conn.execute(select(clocks.c.paused_at.is_not(None), clocks.c.generation))).all()
    assert paused and all(p == (pause_queued, 2 if pause_queued else 1) for p in paused)


async def test_copies_and_redeliveries_answer_with_the_first_ticket(runtime: Runtime) -> None:
    rulebook = runtime.app.rulebook.current()
    first = _item(CASES[0], 1, "api:x")
    async with runtime.app.sessionmaker() as s:
        [made] = await open_batch(s, [first], rulebook)
        await commit(s, runtime.app.effects)
    assert isinstance(made, Opened) and made.created
    other = _item(CASES[1], 2, "api:x")
    async with runtime.app.sessionmaker() as s:
        outcomes = await open_batch(s, [first, other, other, _item(CASES[1], 1, "api:y")], rulebook)
        await commit(s, runtime.app.effects)
    again, new, copy, same_id_other_source = outcomes
    assert isinstance(again, Opened) and again.ticket_id == made.ticket_id and not again.created
    assert isinstance(new, Opened) and new.created
    assert isinstance(copy, Opened) and copy.ticket_id == new.ticket_id and not copy.created
    assert isinstance(same_id_other_source, Opened) and same_id_other_source.created
    async with runtime.app.sessionmaker() as s:
        assert len((await s.exec(select(Ticket.id))).all()) == 3


async def test_an_unknown_customer_reference_fails_only_its_own_ticket(runtime: Runtime) -> None:
    rulebook = runtime.app.rulebook.current()
    bad = _item({**CASES[0], "ref": "NOPE"}, 1, "api:x")
    async with runtime.app.sessionmaker() as s:
        outcomes = await open_batch(s, [_item(CASES[1], 2, "api:x"), bad, _item(CASES[2], 3, "api:x")], rulebook)
        await commit(s, runtime.app.effects)
    assert isinstance(outcomes[1], Invalid) and "NOPE" in str(outcomes[1])
    assert isinstance(outcomes[0], Opened) and isinstance(outcomes[2], Opened)


async def test_the_batcher_answers_each_request_after_the_commit_and_isolates_a_failing_row(
    runtime: Runtime,
) -> None:
    """Forty concurrent opens share a few transactions; a row the database refuses (NOT NULL) fails its own
    request only: the batch is tried again one ticket at a time."""
    await make_customer(runtime, ref="ACME", tier=1, domain="acme.example")
    batcher = IntakeBatcher(runtime.app, writers=2, max_batch=16)
    good = [batcher.open(_item(CASES[n % 4], n, "api:b")) for n in range(40)]
    broken = NewTicket(**{**vars(_item(CASES[0], 99, "api:b")), "body": None})  # type: ignore[arg-type]
    results = await asyncio.gather(*good[:20], batcher.open(broken), *good[20:], return_exceptions=True)
    await batcher.aclose()
    failed = [r for r in results if not isinstance(r, Opened)]
    assert len(failed) == 1 and results[20] is failed[0]
    opened = [r for r in results if isinstance(r, Opened)]
    assert len({o.ticket_id for o in opened}) == 40 and all(o.created for o in opened)
    assert batcher.batches < 40  # they were grouped
    async with runtime.app.sessionmaker() as s:
        stored = (await s.exec(select(Ticket.id, Ticket.status))).all()
    assert sorted(i for i, _ in stored) == sorted(o.ticket_id for o in opened)
    queued = sum([await runtime.pool.zcard(tier_queue_key(t)) for t in SUPPORT_TIERS])
    assert queued == 40


@pytest.mark.parametrize("max_batch", [1, 200])
async def test_the_batcher_stops_cleanly(runtime: Runtime, max_batch: int) -> None:
    batcher = IntakeBatcher(runtime.app, writers=1, max_batch=max_batch)
    results = await asyncio.gather(*(batcher.open(_item(CASES[1], n, "api:c")) for n in range(5)))
    await batcher.aclose()
    assert all(r.created for r in results)


#: A real mail with a PDF attachment (from the corpus).
MAIL_WITH_FILE = (Path(__file__).parents[1] / "data/mail/attachment_emails/attachment_pdf_non_ascii.eml").read_bytes()


async def _files(runtime: Runtime, ticket_id: int) -> list[Any]:
    files, messages = metadata.tables["attachment"], metadata.tables["message"]
    query = (
        select(files.c.filename, files.c.content_type, files.c.size, files.c.sha256, files.c.inline)
        .join(messages, messages.c.id == files.c.message_id)
        .where(messages.c.ticket_id == ticket_id)
        .order_by(files.c.id)
    )
    async with runtime.app.engine.connect() as conn:
        return list((await conn.execute(query)).all())


async def test_an_email_opened_in_a_batch_is_stored_as_one_at_a_time_stores_it(runtime: Runtime) -> None:
    """A real mail with an attachment, through ``email_service.ingest`` and through batched opening (with
    another Message-ID): the same ticket, message, attachment, clock, audit and ``inbound_mail`` rows."""
    settings, store = runtime.app.settings, runtime.app.blobs
    async with runtime.app.sessionmaker() as s:
        one = await email_service.ingest(
            s, runtime.app.effects, MAIL_WITH_FILE, settings=settings, store=store, source="email:one",
            actor=Actor("agent:1"), rulebook=runtime.app.rulebook.current(),
        )  # fmt: skip
        await commit(s, runtime.app.effects)
    assert one.outcome == "created" and one.ticket_id is not None
    other = MAIL_WITH_FILE.replace(b"Message-ID: <", b"Message-ID: <batch.")
    item = email_service.new_ticket(
        email_service.prepare(other, settings=settings, store=store), source="email:one", actor="agent:1",
        settings=settings,
    )  # fmt: skip
    assert item is not None and item.mail.attachments
    async with runtime.app.sessionmaker() as s:
        [opened] = await open_batch(s, [item], runtime.app.rulebook.current())
        await commit(s, runtime.app.effects)
    assert isinstance(opened, Opened) and opened.created
    mine, theirs = await _rows(runtime, opened.ticket_id), await _rows(runtime, one.ticket_id)
    differ = {"message_id_header", "raw_sha256"}  # the other Message-ID, so another raw copy
    for table in mine:
        assert [{k: v for k, v in r.items() if k not in differ} for r in mine[table]] == [
            {k: v for k, v in r.items() if k not in differ} for r in theirs[table]
        ], table
    assert await _files(runtime, opened.ticket_id) == await _files(runtime, one.ticket_id) != []
    inbound = metadata.tables["inbound_mail"]
    async with runtime.app.engine.connect() as conn:
        query = select(inbound.c.outcome, inbound.c.sender, inbound.c.size).where(
            inbound.c.ticket_id == opened.ticket_id
        )
        assert (await conn.execute(query)).one().outcome == "created"
