"""A one-click link from a tier-0 acknowledgement, checked (for the confirmation page) and used (its POST).

Checking never changes anything: mail scanners fetch every link in a mail, so the GET only shows what the
link would do, with a button. Using it records the answer once per suggestion (``KbLinkUse``, unique) and,
while the ticket is still in self-service, resolves it ("this solved it") or hands it to the frontline tier
("this didn't help") through the ticket service; a ticket that moved on keeps the answer and is not changed.
A link that is forged, expired, for another ticket or already used changes nothing and says which it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.errors import NotFound
from router.models.self_service import Feedback, KbLinkUse, KbSuggestion, LinkOutcome
from router.models.tickets import Ticket
from router.self_service.links import BadLink, LinkClaim, LinkKey
from router.tickets import self_service as door
from router.tickets import service as tickets


class Problem(StrEnum):
    """Why a link does nothing (each has its own page text and HTTP status)."""

    forged = "forged"
    other_ticket = "other_ticket"
    expired = "expired"
    used = "used"


@dataclass(frozen=True)
class Checked:
    """What the page about a link shows. Without a claim (forged) nothing about any ticket is revealed."""

    problem: Problem | None
    claim: LinkClaim | None = None
    ticket: Ticket | None = None
    suggestion: KbSuggestion | None = None
    #: The link's (or its sibling's) earlier use, when there was one.
    use: KbLinkUse | None = None
    #: What this use did (set only by ``use``).
    outcome: LinkOutcome | None = None


async def check(
    session: AsyncSession, key: LinkKey, ticket_id: int, token: str, now: datetime, *, lock: bool = False
) -> Checked:
    """The link's claim checked in order: signature, ticket, expiry, its suggestion, an earlier use."""
    try:
        claim = key.read(token)
    except BadLink:
        return Checked(Problem.forged)
    if claim.ticket_id != ticket_id:
        return Checked(Problem.other_ticket)
    suggestion = await session.get(KbSuggestion, claim.suggestion_id)
    try:
        ticket = await tickets.get(session, claim.ticket_id, lock=lock)
    except NotFound:
        return Checked(Problem.forged)
    if suggestion is None or suggestion.ticket_id != ticket.id:  # signed by us, but not for this suggestion
        return Checked(Problem.forged)
    if claim.expired(now):
        return Checked(Problem.expired, claim, ticket, suggestion)
    use = (await session.exec(select(KbLinkUse).where(KbLinkUse.suggestion_id == suggestion.id))).first()
    if use is not None and claim.feedback is not None:
        return Checked(Problem.used, claim, ticket, suggestion, use)
    return Checked(None, claim, ticket, suggestion, use)


async def use(session: AsyncSession, key: LinkKey, ticket_id: int, token: str, now: datetime) -> Checked:
    """Check the link under the ticket's row lock and, when it is a good answer, act on it and record its use
    (the link that shows the article changes nothing). A concurrent use of the same suggestion fails on the
    unique row (``IntegrityError``): the caller shows the page of a used link then."""
    checked = await check(session, key, ticket_id, token, now, lock=True)
    if checked.problem is not None or checked.claim is None or checked.claim.feedback is None:
        return checked  # a problem, or the link that only shows the article
    assert checked.ticket is not None and checked.suggestion is not None
    ticket, suggestion, feedback = checked.ticket, checked.suggestion, checked.claim.feedback
    assert ticket.id is not None and suggestion.id is not None
    author = ticket.requester_email
    outcome = LinkOutcome.recorded
    await door.record_answer(session, ticket, author=author, slug=suggestion.slug, feedback=feedback)
    if door.in_self_service(ticket) and feedback == Feedback.solved:
        await door.deflect(session, ticket, author=author, slug=suggestion.slug)
        outcome = LinkOutcome.resolved
    elif door.in_self_service(ticket):
        reason = f'the suggested article "{suggestion.title}" did not help'
        await door.to_frontline(session, ticket, author=author, reason=reason)
        outcome = LinkOutcome.escalated
    row = KbLinkUse(suggestion_id=suggestion.id, ticket_id=ticket.id, feedback=feedback, outcome=outcome, used_at=now)
    session.add(row)
    await session.flush()
    return Checked(None, checked.claim, ticket, suggestion, row, outcome)
