"""Read-only: what a ticket's requester was suggested and what they answered (the ticket page shows it)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.self_service import KbLinkUse, KbSuggestion


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
