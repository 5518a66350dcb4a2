"""Tier-0 tickets with suggested articles, and their one-click links."""

from __future__ import annotations

from datetime import datetime

import httpx
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from queues.runtime import Runtime
from queues.worker import drain
from router.kb import service as kb
from router.kb.schemas import ArticleIn
from router.models.audit import AuditEvent
from router.models.columns import utcnow
from router.models.kb import Article
from router.models.self_service import Feedback, KbLinkUse, KbSuggestion
from router.models.tickets import Ticket
from router.self_service.links import LinkClaim, expiry, link_key, link_path
from router.unit_of_work import commit
from tests.conftest import auth, ticket_json

HOW_TO = "How do I export my invoices to CSV?"


async def tier0_ticket(
    runtime: Runtime, client: httpx.AsyncClient, token: str, *, requester: str = "pat@customer.example"
) -> int:
    """A how-to question from a break-even (default tier 3) requester: the rulebook routes it to tier 0."""
    body = ticket_json(subject=HOW_TO, body="Where is the export?", requester_email=requester)
    r = await client.post("/api/v1/tickets", json=body, headers=auth(token))
    assert r.status_code == 202, r.text
    await drain(runtime)
    tid = int(r.json()["id"])
    ticket = (await client.get(f"/api/v1/tickets/{tid}", headers=auth(token))).json()
    assert (ticket["support_tier"], ticket["status"]) == (0, "queued"), ticket
    return tid


async def article(session: AsyncSession, slug: str) -> Article:
    """The published article ``slug`` (for every customer tier), made if missing."""
    found = await kb.by_slug(session, slug)
    if found is not None:
        return found
    title = slug.replace("-", " ").title()
    data = ArticleIn(slug=slug, title=title, body=f"# {title}\n\nHow to {title.lower()}.", status="published")
    return await kb.create(session, data, by=None)


async def suggested(runtime: Runtime, ticket_id: int, slugs: list[str]) -> list[int]:
    """Suggestion rows as the acknowledgement records them (their articles made if missing); their ids."""
    async with runtime.app.sessionmaker() as s:
        ticket = await s.get(Ticket, ticket_id)
        assert ticket is not None
        articles = [await article(s, slug) for slug in slugs]
        rows = [
            KbSuggestion(
                ticket_id=ticket_id,
                article_id=articles[n].id,
                slug=slug,
                title=slug.replace("-", " ").title(),
                position=n + 1,
                customer_tier=ticket.customer_tier,
            )
            for n, slug in enumerate(slugs)
        ]
        s.add_all(rows)
        await s.flush()
        ids = [r.id for r in rows if r.id is not None]
        await commit(s, runtime.app.effects)
    return ids


def link(
    runtime: Runtime, ticket_id: int, suggestion_id: int, feedback: Feedback, *, now: datetime | None = None
) -> str:
    settings = runtime.app.settings
    claim = LinkClaim(ticket_id, suggestion_id, feedback, expiry(settings, now or utcnow()))
    return link_path(ticket_id, link_key(settings).sign(claim))


async def actions(runtime: Runtime, ticket_id: int) -> list[AuditEvent]:
    async with runtime.app.sessionmaker() as s:
        query = select(AuditEvent).where(AuditEvent.ticket_id == ticket_id).order_by(col(AuditEvent.seq))
        return list((await s.exec(query)).all())


async def uses(runtime: Runtime, ticket_id: int) -> list[KbLinkUse]:
    async with runtime.app.sessionmaker() as s:
        return list((await s.exec(select(KbLinkUse).where(KbLinkUse.ticket_id == ticket_id))).all())
