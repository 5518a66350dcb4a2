"""Read-only: what a ticket's requester was suggested and what they answered (the ticket page shows it), and
the articles an agent may put into a reply (the reply box's search)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.kb.search import ArticleHit, search_articles
from router.models.kb import Article
from router.models.self_service import KbLinkUse, KbSuggestion
from router.models.tickets import Ticket


@dataclass(frozen=True)
class SuggestionView:
    suggestion: KbSuggestion
    #: The requester's one-click answer, if any.
    answer: KbLinkUse | None


async def suggestions_of(session: AsyncSession, ticket_id: int) -> list[SuggestionView]:
    """The ticket's suggested articles, best first, each with the requester's answer (one query)."""
    rows = await session.exec(
        select(KbSuggestion, KbLinkUse)
        .outerjoin(KbLinkUse, col(KbLinkUse.suggestion_id) == col(KbSuggestion.id))
        .where(KbSuggestion.ticket_id == ticket_id)
        .order_by(col(KbSuggestion.suggested_at), col(KbSuggestion.position))
    )
    return [SuggestionView(s, use) for s, use in rows.all()]


#: The most articles the reply box's search lists.
PICKER_RESULTS = 8


@dataclass(frozen=True)
class ArticleChoice:
    """An article an agent may put into a reply, and the text that goes in: a link to ``/help`` for an
    article anyone may read, else its text (the requester could not open a link to it)."""

    article_id: int
    slug: str
    title: str
    snippet: str
    public: bool
    text: str


async def articles_for_reply(
    session: AsyncSession, ticket: Ticket, query: str, *, public_url: str
) -> list[ArticleChoice]:
    """The published articles that best match ``query`` among those the ticket's requester may see (their
    customer tier and the ticket's product), with what inserting each puts into the reply."""
    hits = await search_articles(
        session, query, customer_tier=ticket.customer_tier, product=ticket.product, limit=PICKER_RESULTS
    )
    private = [h.article_id for h in hits if not h.public]
    texts: dict[int, str] = {}
    if private:
        rows = await session.exec(select(Article.id, Article.plain_text).where(col(Article.id).in_(private)))
        texts = {int(i): str(t) for i, t in rows.all() if i is not None}
    return [
        ArticleChoice(h.article_id, h.slug, h.title, h.snippet, h.public, _text(h, texts, public_url)) for h in hits
    ]


def _text(hit: ArticleHit, texts: dict[int, str], public_url: str) -> str:
    if hit.public:
        return f"{hit.title}: {public_url}/help/{hit.slug}"
    return f"{hit.title}\n\n{texts.get(hit.article_id, '')}"
