"""The self-service figures, exact against a fixture of tier-0 tickets whose every outcome is known: deflected
by a link or a reply, escalated by the requester or an agent, resolved by a link after an agent acted, reopened
after a deflection, created outside the window; and the articles' helpful ratios and the one that never helps.
Through the JSON report, the CSV and the ``/reports`` page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import time_machine
from sqlmodel import select

from queues.runtime import Runtime
from queues.worker import drain
from router.models.self_service import Feedback, KbSuggestion
from router.reports.service import make_filters
from router.self_service.figures import self_service_figures
from router.settings import Settings
from tests.conftest import auth, make_agent, make_customer, ticket_json
from tests.intake.test_email import mail, post
from tests.self_service.conftest import article, link, suggested
from tests.test_cli import tierroute
from tests.web.helpers import load

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SINCE, UNTIL = START - timedelta(hours=1), START + timedelta(days=2)
BREAK_EVEN, MONEY_LOSING = "pat@unknown.example", "kim@ml.example"  # customer tiers 3 and 4


async def _ticket(runtime: Runtime, client: httpx.AsyncClient, token: str, requester: str, slugs: str = "") -> int:
    body = ticket_json(subject="How do I export my invoices?", body="Where is it?", requester_email=requester)
    r = await client.post("/api/v1/tickets", json=body, headers=auth(token))
    await drain(runtime)
    tid = int(r.json()["id"])
    assert (await load(runtime, tid)).support_tier == 0
    for slug in slugs:
        await suggested(runtime, tid, [slug])
    return tid


async def _click(runtime: Runtime, client: httpx.AsyncClient, tid: int, slug: str, feedback: Feedback) -> None:
    async with runtime.app.sessionmaker() as s:
        row = (await s.exec(select(KbSuggestion).where(KbSuggestion.ticket_id == tid, KbSuggestion.slug == slug))).one()
    assert row.id is not None
    assert (await client.post(link(runtime, tid, row.id, feedback))).status_code == 200


async def _reply(client: httpx.AsyncClient, token: str, runtime: Runtime, tid: int, sender: str, text: str) -> None:
    ref = (await load(runtime, tid)).ref
    assert (await post(client, token, mail(f"Re: [{ref}] export", text, sender=sender)))["outcome"] == "appended"


async def _fixture(runtime: Runtime, client: httpx.AsyncClient) -> str:
    await make_customer(runtime, ref="ml", tier=4, domain="ml.example")
    _, lead = await make_agent(runtime, role="lead", tiers=())
    with time_machine.travel(START - timedelta(days=3), tick=True):  # T9: before the window
        t9 = await _ticket(runtime, client, lead, MONEY_LOSING, "c")
        await _click(runtime, client, t9, "c", Feedback.solved)
    with time_machine.travel(START, tick=True):
        t1 = await _ticket(runtime, client, lead, BREAK_EVEN, "ab")
        await _click(runtime, client, t1, "a", Feedback.solved)  # deflected by a link
        t2 = await _ticket(runtime, client, lead, BREAK_EVEN, "ab")
        await _click(runtime, client, t2, "a", Feedback.not_helpful)  # escalated: self_service
        t3 = await _ticket(runtime, client, lead, MONEY_LOSING, "ac")
        await _reply(client, lead, runtime, t3, MONEY_LOSING, "Solved, thanks!")  # deflected by a reply
        t4 = await _ticket(runtime, client, lead, MONEY_LOSING, "c")
        escalated = await client.post(f"/api/v1/tickets/{t4}/escalate", json={"reason": "vip"}, headers=auth(lead))
        assert escalated.status_code == 200  # escalated: agent
        t5 = await _ticket(runtime, client, lead, MONEY_LOSING, "b")
        replied = await client.post(f"/api/v1/tickets/{t5}/messages", json={"body": "Try this"}, headers=auth(lead))
        assert replied.status_code == 201
        await _click(runtime, client, t5, "b", Feedback.solved)  # resolved by a link, but an agent acted
        t6 = await _ticket(runtime, client, lead, BREAK_EVEN)  # no suggestions
        await _reply(client, lead, runtime, t6, BREAK_EVEN, "Thanks, that worked")  # deflected by a reply
        t8 = await _ticket(runtime, client, lead, BREAK_EVEN, "a")
        await _click(runtime, client, t8, "a", Feedback.solved)
        await _reply(client, lead, runtime, t8, BREAK_EVEN, "Sorry, the export is still missing")  # reopened, up
        billing = ticket_json(subject="Invoice copy", body="Please resend the invoice.", requester_email=BREAK_EVEN)
        await client.post("/api/v1/tickets", json=billing, headers=auth(lead))  # tier 1: not in the figures
        await drain(runtime)
    assert [(await load(runtime, t)).status for t in (t1, t3, t5, t6)] == ["resolved"] * 4
    assert [(await load(runtime, t)).support_tier for t in (t2, t4, t8)] == [1, 1, 1]
    return lead


def _tier_row(
    tier: object, tier0: int, suggested_: int, link_: int, reply: int, causes: dict[str, int]
) -> dict[str, object]:
    deflected = link_ + reply
    return {
        "customer_tier": tier, "tier0_tickets": tier0, "suggested": suggested_, "deflected": deflected,
        "deflected_by_link": link_, "deflected_by_reply": reply,
        "deflection_rate": round(deflected / tier0, 4) if tier0 else None,
        "escalations_after_suggestion": sum(causes.values()), "escalations_by_cause": causes,
    }  # fmt: skip


EXPECTED_TIERS = [
    _tier_row(1, 0, 0, 0, 0, {}),
    _tier_row(2, 0, 0, 0, 0, {}),
    _tier_row(3, 4, 3, 1, 1, {"self_service": 2}),  # t1 t2 t6 t8
    _tier_row(4, 3, 3, 0, 1, {"agent": 1}),  # t3 t4 t5 (t9 is before the window)
]
EXPECTED_TOTALS = _tier_row(None, 7, 6, 1, 2, {"agent": 1, "self_service": 2})


def _article(slug: str, tier: int | None, suggested_: int, solved: int, unhelpful: int) -> dict[str, object]:
    answered = solved + unhelpful
    return {
        "slug": slug, "title": slug.title(), "customer_tier": tier,
        "suggested": suggested_, "solved": solved, "not_helpful": unhelpful,
        "helpful_ratio": round(solved / answered, 4) if answered else None, "never_helps": slug == "c",
    }  # fmt: skip


EXPECTED_ARTICLES = [
    _article("a", None, 4, 2, 1),  # t1 t2 t8 (tier 3), t3 (tier 4)
    _article("a", 3, 3, 2, 1),
    _article("a", 4, 1, 0, 0),
    _article("b", None, 3, 1, 0),  # t1 t2 (tier 3), t5 (tier 4: solved, though not a deflection)
    _article("b", 3, 2, 0, 0),
    _article("b", 4, 1, 1, 0),
    _article("c", None, 2, 0, 0),  # t3 t4: suggested twice, never helped
    _article("c", 4, 2, 0, 0),
]


async def test_the_figures_are_exact_against_the_fixture(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead = await _fixture(runtime, client)
    async with runtime.app.sessionmaker() as s:
        figures = await self_service_figures(s, make_filters(SINCE, UNTIL, now=UNTIL), never_helps_after=2)
    assert [r.model_dump() for r in figures.by_customer_tier] == EXPECTED_TIERS
    assert figures.totals.model_dump() == EXPECTED_TOTALS
    assert [a.model_dump(exclude={"article_id"}) for a in figures.articles] == EXPECTED_ARTICLES
    async with runtime.app.sessionmaker() as s:
        ids = {slug: (await article(s, slug)).id for slug in "abc"}
    assert all(a.article_id == ids[a.slug] for a in figures.articles)
    assert [(a.slug, a.customer_tier) for a in figures.never_help] == [("c", None)]

    # The SLA report carries them (its own threshold: five suggestions make "never helps").
    params = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}
    report = (await client.get("/api/v1/reports/sla", params=params, headers=auth(lead))).json()["self_service"]
    assert report["totals"] == EXPECTED_TOTALS
    assert report["by_customer_tier"] == EXPECTED_TIERS
    assert report["never_helps_after"] == 5 and report["never_help"] == []
    csv_text = (await client.get("/api/v1/reports/sla", params={**params, "format": "csv"}, headers=auth(lead))).text
    assert "self_service,customer_tier,all,deflection_rate,0.4286" in csv_text
    assert "self_service_articles,customer_tier all,a,helpful_ratio,0.6667" in csv_text
    page = await client.get("/reports", params={"from": "2026-11-24", "to": "2026-11-25"}, headers=auth(lead))
    assert page.status_code == 200 and "Self-service (tier 0)" in page.text and "42.9 %" in page.text


async def test_kb_stats_prints_the_same_figures(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings
) -> None:
    await _fixture(runtime, client)
    window = ["--since", SINCE.isoformat(), "--until", UNTIL.isoformat()]
    done = tierroute(settings, "kb", "stats", *window, "--never-helps-after", "2", "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["totals"] == EXPECTED_TOTALS and figures["by_customer_tier"] == EXPECTED_TIERS
    assert [{k: v for k, v in a.items() if k != "article_id"} for a in figures["articles"]] == EXPECTED_ARTICLES
    table = tierroute(settings, "kb", "stats", *window, "--never-helps-after", "2")
    assert table.returncode == 0, table.stderr
    assert "42.9 %" in table.stdout and "Never help (suggested 2+ times, never solved a ticket): c (2 times)" in (
        " ".join(table.stdout.split())
    )
    bad = tierroute(settings, "kb", "stats", "--since", UNTIL.isoformat(), "--until", SINCE.isoformat())
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: the report's window is empty")
    assert "Traceback" not in bad.stderr
