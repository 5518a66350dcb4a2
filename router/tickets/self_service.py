"""The requester's answer to self-service (tier 0), through the one door: "this solved it" (a one-click link
or a reply that says so) resolves the ticket as the requester; "this didn't help" (a link, or any other reply)
hands it to the frontline tier with cause ``self_service``. Each is ``service.resolve`` or ``service.escalate``,
audited in the caller's transaction like every change."""

from __future__ import annotations

import json
from functools import lru_cache

from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.self_service import DEFLECTED_BY_REPLY, DEFLECTED_PREFIX, SELF_SERVICE_CAUSE
from router.models.tickets import OPEN_STATUSES, Ticket
from router.settings import Settings
from router.tickets import service, trail
from router.tickets.actors import Actor
from rules.replies import SolvedPhrases
from rules.vocabulary import FRONTLINE_TIER, SELF_SERVICE_TIER

#: The audit action of a requester's answer about a suggested article.
ANSWER_ACTION = "self_service_answer"
#: A reply quoted in the escalation's reason at most this long (the whole reply is on the ticket).
REASON_EXCERPT = 300


@lru_cache(maxsize=8)
def _phrases(extra: str) -> SolvedPhrases:
    return SolvedPhrases.of(json.loads(extra))


def solved_phrases(settings: Settings) -> SolvedPhrases:
    """The default phrases and the settings' own (``TIERROUTE_SELF_SERVICE_PHRASES``), built once."""
    return _phrases(json.dumps(settings.self_service_phrases, sort_keys=True))


def requester(author: str) -> Actor:
    """The requester (or another participant of the ticket) acting on it, as the audit trail names them."""
    return Actor(f"requester:{author}"[:100])


def in_self_service(ticket: Ticket) -> bool:
    """Open and still at tier 0: the requester's answer decides what happens next."""
    return ticket.support_tier == SELF_SERVICE_TIER and ticket.status in OPEN_STATUSES


async def deflect(session: AsyncSession, ticket: Ticket, *, author: str, slug: str | None) -> None:
    """The requester says a suggestion (``slug``; None: a reply saying so) solved it: resolved as them."""
    resolution = DEFLECTED_PREFIX + slug if slug else DEFLECTED_BY_REPLY
    await service.resolve(session, ticket, requester(author), resolution=resolution[:200])


async def to_frontline(session: AsyncSession, ticket: Ticket, *, author: str, reason: str) -> None:
    """The requester wants a person: the ticket goes up to the frontline tier."""
    await service.escalate(
        session, ticket, requester(author), reason=reason, to_tier=FRONTLINE_TIER, cause=SELF_SERVICE_CAUSE
    )


async def record_answer(session: AsyncSession, ticket: Ticket, *, author: str, slug: str, feedback: str) -> None:
    """What the requester said about a suggested article (a one-click link), in the ticket's audit trail,
    whether or not it changes the ticket (bookkeeping: the ticket is not touched)."""
    trail.record(
        session,
        ticket,
        actor=requester(author).name,
        action=ANSWER_ACTION,
        to_tier=ticket.support_tier,
        data={"article": slug, "feedback": feedback},
        touch=False,
    )


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= REASON_EXCERPT else flat[: REASON_EXCERPT - 1] + "…"


async def read_reply(
    session: AsyncSession, ticket: Ticket, *, author: str, text: str, phrases: SolvedPhrases
) -> str | None:
    """A requester's reply (already stored on the ticket, quotes and signature stripped) to a tier-0 ticket:
    a bare "solved" resolves it, anything else escalates it with the reply quoted in the reason. Returns what
    happened (``resolved``, ``escalated``), or None when the ticket is not in self-service."""
    if not in_self_service(ticket):
        return None
    if phrases.says_solved(text):
        await deflect(session, ticket, author=author, slug=None)
        return "resolved"
    await to_frontline(session, ticket, author=author, reason=f"the requester replied: {_excerpt(text)}")
    return "escalated"
