"""The articles a tier-0 acknowledgement suggests: found, recorded and given their signed links, for a batch of
tickets at once (tier automation's job, never the intake request).

Per ticket, one knowledge-base search (``router.kb.search.search_articles``) of its subject and first
message, limited to what its customer tier and product may see; tickets asking the same thing share one
search. The suggestions of the whole batch are one insert (``kb_suggestion``), and their links are signed in
memory (``router.self_service.links``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.kb.search import ArticleHit, search_articles
from router.models import metadata
from router.models.self_service import Feedback
from router.models.tickets import Direction, Message, Ticket
from router.self_service.links import LinkClaim, expiry, link_key, link_url
from router.settings import Settings

SUGGESTION = metadata.tables["kb_suggestion"]
#: The start of a ticket's first message that goes into the search with its subject (the search keeps its
#: first words only; a pasted log would cost time and find nothing).
QUESTION_CHARS = 2000


@dataclass(frozen=True)
class SuggestedArticle:
    """One suggestion as the acknowledgement shows it."""

    slug: str
    title: str
    snippet: str
    #: The article, on a page that also offers the two answers as buttons (works for any audience).
    read_url: str
    solved_url: str
    unhelpful_url: str


async def _questions(session: AsyncSession, tickets: Sequence[Ticket]) -> dict[int, str]:
    """Each ticket's subject and the start of its first inbound message (one query for the batch)."""
    ids = [t.id for t in tickets if t.id is not None]
    rows = await session.exec(
        select(Message.ticket_id, Message.body_text)
        .where(col(Message.ticket_id).in_(ids), Message.direction == Direction.inbound, Message.kind == "message")
        .order_by(col(Message.id))
    )
    first: dict[int, str] = {}
    for ticket_id, body in rows.all():
        first.setdefault(ticket_id, body[:QUESTION_CHARS])
    return {t.id: f"{t.subject}\n{first.get(t.id, '')}" for t in tickets if t.id is not None}


async def suggest(
    session: AsyncSession, tickets: Sequence[Ticket], *, settings: Settings, now: datetime
) -> dict[int, list[SuggestedArticle]]:
    """Find, record and sign the suggestions of ``tickets`` (about to be acknowledged at tier 0); a ticket
    without a match is left out of the answer."""
    wanted = settings.self_service_suggestions
    if not wanted or not tickets:
        return {}
    questions = await _questions(session, tickets)
    searched: dict[tuple[str, int, str | None], list[ArticleHit]] = {}
    rows: list[dict[str, Any]] = []
    hits_of: list[tuple[int, ArticleHit]] = []
    for ticket in tickets:
        assert ticket.id is not None
        key = (questions[ticket.id], ticket.customer_tier, ticket.product)
        if key not in searched:
            searched[key] = await search_articles(
                session, key[0], customer_tier=ticket.customer_tier, product=ticket.product, limit=wanted
            )
        for position, hit in enumerate(searched[key], start=1):
            rows.append(
                {"ticket_id": ticket.id, "article_id": hit.article_id, "slug": hit.slug, "title": hit.title,
                 "position": position, "customer_tier": ticket.customer_tier, "suggested_at": now}
            )  # fmt: skip
            hits_of.append((ticket.id, hit))
    if not rows:
        return {}
    conn = await session.connection()
    statement = insert(SUGGESTION).returning(SUGGESTION.c.id, sort_by_parameter_order=True)
    ids = [row_id for (row_id,) in (await conn.execute(statement, rows)).all()]
    key_, expires = link_key(settings), expiry(settings, now)
    found: dict[int, list[SuggestedArticle]] = {}
    for suggestion_id, (ticket_id, hit) in zip(ids, hits_of, strict=True):

        def url(feedback: Feedback | None, ticket_id: int = ticket_id, suggestion_id: int = suggestion_id) -> str:
            token = key_.sign(LinkClaim(ticket_id, suggestion_id, feedback, expires))
            return link_url(settings, ticket_id, token)

        suggested = SuggestedArticle(
            hit.slug, hit.title, hit.snippet, url(None), url(Feedback.solved), url(Feedback.not_helpful)
        )  # fmt: skip
        found.setdefault(ticket_id, []).append(suggested)
    return found
