"""Tier automation for a batch (``automation.run_batch``) writes what ``automation.run`` writes per ticket."""

from __future__ import annotations

from sqlmodel import col, select

from queues.runtime import Runtime
from router.audit import service as audit
from router.automation import service as automation
from router.models import metadata
from router.models.tickets import Ticket
from router.tickets.inputs import NewTicket, Opened, TicketContext
from router.tickets.opening import open_batch
from router.unit_of_work import commit
from tests.tickets.test_opening import _plain


def _item(n: int, email: str, *, quiet: bool = False) -> NewTicket:
    return NewTicket(
        source="api:test",
        delivery_id=f"a-{n}",
        subject="How do I reset my password?",
        body="forgot it",
        requester_email=email,
        customer_ref=None,
        priority_hint=None,
        channel="api",
        actor="agent:1",
        default_customer_tier=3,
        context=TicketContext(auto_reply_suppressed=quiet),
    )


#: Per address: two tickets from one requester (a cap of one reply a day quiets the second), one whose
#: mail asked for no automatic replies, one plain.
ADDRESSES = [("cap@x.example", False), ("cap@x.example", False), ("quiet@x.example", True), ("plain@x.example", False)]


async def _open(runtime: Runtime, prefix: str, offset: int) -> list[int]:
    items = [_item(offset + n, prefix + email, quiet=quiet) for n, (email, quiet) in enumerate(ADDRESSES)]
    async with runtime.app.sessionmaker() as s:
        outcomes = await open_batch(s, items, runtime.app.rulebook.current())
        await commit(s, runtime.app.effects)
    assert all(isinstance(o, Opened) for o in outcomes)
    return [o.ticket_id for o in outcomes if isinstance(o, Opened)]


async def _written(runtime: Runtime, ticket_id: int, prefix: str) -> dict[str, object]:
    """The ticket's messages and audit events, with its reference and address prefix taken out."""
    ticket_table = metadata.tables["ticket"]
    async with runtime.app.engine.connect() as conn:
        ticket = (await conn.execute(select(ticket_table).where(ticket_table.c.id == ticket_id))).mappings().one()
        out: dict[str, object] = {"automation_tier": ticket["automation_tier"], "audit_seq": ticket["audit_seq"]}
        for name in ("message", "audit_event", "report_ticket"):
            table = metadata.tables[name]
            query = select(table).where(table.c.ticket_id == ticket_id).order_by(*table.primary_key.columns)
            rows = [_plain(dict(row)) for row in (await conn.execute(query)).mappings()]
            text = repr(rows).replace(ticket["ref"], "<ref>").replace(prefix, "")
            out[name] = text
    return out


async def test_a_batch_acknowledges_and_stays_quiet_as_one_at_a_time_does(runtime: Runtime) -> None:
    runtime.app.settings = runtime.app.settings.model_copy(update={"auto_replies_per_address_per_day": 1})
    settings, templates = runtime.app.settings, runtime.app.templates
    one_by_one = await _open(runtime, "one-", 0)
    batched = await _open(runtime, "batch-", 100)
    async with runtime.app.sessionmaker() as s:
        tickets = {t.id: t for t in (await s.exec(select(Ticket).where(col(Ticket.id).in_(one_by_one)))).all()}
        tier = tickets[one_by_one[0]].support_tier
        assert tier is not None and all(t.automation_tier == tier for t in tickets.values())
    for ticket_id in one_by_one:
        async with runtime.app.sessionmaker() as s:
            await automation.run(s, ticket_id, tier, templates=templates, settings=settings)
            await commit(s, runtime.app.effects)
    async with runtime.app.sessionmaker() as s:
        done, _ = await automation.run_batch(s, tier, templates=templates, settings=settings, up_to=max(batched))
        await commit(s, runtime.app.effects)
    assert done == 2  # the capped second ticket and the quiet one stay quiet
    for mine, theirs in zip(batched, one_by_one, strict=True):
        assert await _written(runtime, mine, "batch-") == await _written(runtime, theirs, "one-")
    # A repeated batch job finds nothing left to do; every chain still verifies.
    async with runtime.app.sessionmaker() as s:
        assert await automation.run_batch(s, tier, templates=templates, settings=settings) == (0, 0)
        await commit(s, runtime.app.effects)
        async for report in audit.verify_all(s):
            assert report.valid, report


async def test_a_job_takes_the_tier_s_waiting_tickets_up_to_its_batch_a_page_at_a_time(runtime: Runtime) -> None:
    """Under load one job does the work of the batches before it (their jobs then find nothing to do), a
    page per transaction; tickets after its batch are left to their own batch's job."""
    from router.effects import automation_batch_job

    assert automation_batch_job(1, [5, 3]).job_id == automation_batch_job(1, [3, 5]).job_id
    assert automation_batch_job(1, [3, 5]).args == (1, 5)
    settings, templates = runtime.app.settings, runtime.app.templates
    first = await _open(runtime, "first-", 0)
    second = await _open(runtime, "second-", 100)
    third = await _open(runtime, "third-", 200)
    async with runtime.app.sessionmaker() as s:
        tier = (await s.get(Ticket, first[0])).support_tier  # type: ignore[union-attr]
        assert tier is not None
        pages = []
        while not pages or pages[-1][1] == 3:  # pages of 3: the 8 tickets of the first two batches take 3
            page = await automation.run_batch(
                s, tier, templates=templates, settings=settings, up_to=max(second), limit=3
            )
            pages.append(page)
            await commit(s, runtime.app.effects)
        assert [taken for _, taken in pages] == [3, 3, 2]
        assert sum(done for done, _ in pages) == 6  # of 8: each batch has one ticket whose mail asked for silence
        assert await automation.run_batch(s, tier, templates=templates, settings=settings, up_to=max(first)) == (0, 0)
        await commit(s, runtime.app.effects)
        pending = (await s.exec(select(Ticket.id).where(col(Ticket.automation_tier).is_not(None)))).all()
    assert sorted(pending) == sorted(third)
