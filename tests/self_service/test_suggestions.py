"""Tier 0's acknowledgement suggests the knowledge base's best articles, each with its links; the batched
automation job suggests what the one-ticket job does; the links in the mail work; other tiers, no match or
suggestions turned off keep the general pointers."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import col, select

from queues.runtime import Runtime
from queues.worker import drain
from router.automation import service as automation
from router.kb import files, importing
from router.models.audit import AuditEvent
from router.models.self_service import KbSuggestion
from router.models.tickets import Message
from router.tickets.inputs import NewTicket, Opened, TicketContext
from router.tickets.opening import open_batch
from router.unit_of_work import commit
from tests.conftest import auth, make_agent, ticket_json
from tests.web.helpers import load

LINK = re.compile(r"(https?://[^\s]+|/self-service/[^\s]+)")
#: Tier-0 questions (how-to, break-even requester) and the article that answers each.
QUESTIONS = [
    ("How do I reset my password?", "I forgot my password and the reset email never came.", "reset-your-password"),
    ("How can I invite my team?", "We signed up; how do I add colleagues to the account?", "invite-your-team"),
    ("How do I export contacts?", "Is there a way to download our contacts into a spreadsheet?", "export-data-to-csv"),
]


@pytest.fixture
async def example_kb(runtime: Runtime) -> None:
    async with runtime.app.sessionmaker() as s:
        await importing.import_articles(s, files.read_folder(files.EXAMPLE_FOLDER))
        await commit(s, runtime.app.effects)


async def _acknowledgement(runtime: Runtime, ticket_id: int) -> str:
    async with runtime.app.sessionmaker() as s:
        query = select(Message.body_text).where(Message.ticket_id == ticket_id, Message.kind == automation.KIND)
        return str((await s.exec(query)).one())


async def _suggestions(runtime: Runtime, ticket_id: int) -> list[KbSuggestion]:
    async with runtime.app.sessionmaker() as s:
        query = select(KbSuggestion).where(KbSuggestion.ticket_id == ticket_id).order_by(col(KbSuggestion.position))
        return list((await s.exec(query)).all())


async def test_the_acknowledgement_suggests_articles_with_working_links(
    runtime: Runtime, client: httpx.AsyncClient, example_kb: None
) -> None:
    runtime.app.settings = runtime.app.settings.model_copy(update={"public_url": "https://support.example.com"})
    _, lead = await make_agent(runtime, role="lead", tiers=())
    subject, body, answer = QUESTIONS[0]
    r = await client.post("/api/v1/tickets", json=ticket_json(subject=subject, body=body), headers=auth(lead))
    await drain(runtime)
    tid = int(r.json()["id"])
    assert (await load(runtime, tid)).support_tier == 0

    rows = await _suggestions(runtime, tid)
    assert 1 <= len(rows) <= 3 and rows[0].slug == answer
    assert [r.position for r in rows] == list(range(1, len(rows) + 1)) and {r.customer_tier for r in rows} == {3}
    mail = await _acknowledgement(runtime, tid)
    assert "these articles answer many requests like yours" in mail and "/help/guides" not in mail
    links = LINK.findall(mail)
    assert len(links) == 3 * len(rows) and all(u.startswith("https://support.example.com/self-service/") for u in links)
    async with runtime.app.sessionmaker() as s:
        event = (
            await s.exec(select(AuditEvent).where(AuditEvent.ticket_id == tid, AuditEvent.action == "automation"))
        ).one()
    assert event.data == {"kind": "acknowledgement", "suggested": [r.slug for r in rows]}

    read, solved, _unhelpful = (u.removeprefix("https://support.example.com") for u in links[:3])
    article = await client.get(read)  # the article itself, with both answers as buttons
    assert article.status_code == 200 and rows[0].title in article.text and "<h1>" in article.text
    assert article.text.count('<form method="post"') == 2
    assert (await client.post(read)).status_code == 200  # posting the article link changes nothing
    assert (await load(runtime, tid)).status == "queued"
    assert (await client.get(solved)).status_code == 200
    assert (await client.post(solved)).status_code == 200
    resolved = await load(runtime, tid)
    assert resolved.status == "resolved"
    answered = await client.get(read)
    assert "You told us on" in answered.text and '<form method="post"' not in answered.text


async def test_no_match_or_suggestions_off_keep_the_general_pointers(
    runtime: Runtime, client: httpx.AsyncClient, example_kb: None
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    nothing = ticket_json(subject="How do I zyxwv?", body="qwrtp vbnmk")
    tid = int((await client.post("/api/v1/tickets", json=nothing, headers=auth(lead))).json()["id"])
    runtime.app.settings = runtime.app.settings.model_copy(update={"self_service_suggestions": 0})
    subject, body, _ = QUESTIONS[0]
    off = ticket_json(subject=subject, body=body, requester_email="sam@customer.example")
    off_id = int((await client.post("/api/v1/tickets", json=off, headers=auth(lead))).json()["id"])
    await drain(runtime)
    for ticket_id in (tid, off_id):
        assert (await load(runtime, ticket_id)).support_tier == 0
        assert "/help/guides" in await _acknowledgement(runtime, ticket_id)
        assert await _suggestions(runtime, ticket_id) == []


async def test_other_tiers_suggest_nothing(runtime: Runtime, client: httpx.AsyncClient, example_kb: None) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    billing = ticket_json(subject="Invoice copy", body="Please send the invoice with our VAT number again.")
    tid = int((await client.post("/api/v1/tickets", json=billing, headers=auth(lead))).json()["id"])
    await drain(runtime)
    assert (await load(runtime, tid)).support_tier == 1
    assert await _suggestions(runtime, tid) == []
    assert "self-service" not in await _acknowledgement(runtime, tid)


def _item(n: int, prefix: str) -> NewTicket:
    subject, body, _ = QUESTIONS[n % len(QUESTIONS)]
    return NewTicket(
        source="api:test", delivery_id=f"{prefix}{n}", subject=subject, body=body,
        requester_email=f"{prefix}{n}@customer.example", customer_ref=None, priority_hint=None, channel="api",
        actor="agent:1", default_customer_tier=3, context=TicketContext(),
    )  # fmt: skip


async def _open(runtime: Runtime, prefix: str) -> list[int]:
    async with runtime.app.sessionmaker() as s:
        outcomes = await open_batch(s, [_item(n, prefix) for n in range(4)], runtime.app.rulebook.current())
        await commit(s, runtime.app.effects)
    return [o.ticket_id for o in outcomes if isinstance(o, Opened)]


async def _written(runtime: Runtime, ticket_id: int) -> tuple[object, ...]:
    """What automation wrote for the ticket, without ids, tokens and moments."""
    ticket = await load(runtime, ticket_id)
    assert ticket.ref is not None
    body = (await _acknowledgement(runtime, ticket_id)).replace(ticket.ref, "<ref>")
    async with runtime.app.sessionmaker() as s:
        event = (
            await s.exec(select(AuditEvent).where(AuditEvent.ticket_id == ticket_id, AuditEvent.action == "automation"))
        ).one()
    found = await _suggestions(runtime, ticket_id)
    rows = [(r.article_id, r.slug, r.title, r.position, r.customer_tier) for r in found]
    return LINK.sub("<link>", body), event.data, rows


async def test_the_batched_job_suggests_what_the_one_ticket_job_does(runtime: Runtime, example_kb: None) -> None:
    settings, templates = runtime.app.settings, runtime.app.templates
    one_by_one = await _open(runtime, "one-")
    batched = await _open(runtime, "batch-")
    for ticket_id in one_by_one:
        async with runtime.app.sessionmaker() as s:
            await automation.run(s, ticket_id, 0, templates=templates, settings=settings)
            await commit(s, runtime.app.effects)
    async with runtime.app.sessionmaker() as s:
        done, taken = await automation.run_batch(s, 0, templates=templates, settings=settings, up_to=max(batched))
        await commit(s, runtime.app.effects)
    assert (done, taken) == (4, 4)
    for mine, theirs in zip(batched, one_by_one, strict=True):
        written = await _written(runtime, mine)
        assert written == await _written(runtime, theirs)
        assert written[2], "every question found its articles"
