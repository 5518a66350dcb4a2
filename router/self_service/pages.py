"""The requester's pages of a one-click link, worded for a person who is not an agent: what the link will do
(with the button that does it), what it did, or why it does nothing — and the HTTP status of each."""

from __future__ import annotations

from dataclasses import dataclass, field

from router.models.self_service import Feedback, KbLinkUse, LinkOutcome
from router.models.tickets import Status, Ticket
from router.self_service.answers import Checked, Problem
from router.tickets.self_service import in_self_service

#: The status of each problem's page: a link that cannot work is not an error of the server.
STATUS = {Problem.forged: 404, Problem.other_ticket: 403, Problem.expired: 410, Problem.used: 409}


@dataclass(frozen=True)
class Page:
    heading: str
    lines: list[str] = field(default_factory=list)
    #: The button's words, when the page offers one (the confirmation page).
    confirm: str | None = None
    status: int = 200


def answered_line(use: KbLinkUse) -> str:
    when = use.used_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"You told us on {when} {_said(use)}. Thank you."


def _said(use: KbLinkUse) -> str:
    return "that it solved your problem" if use.feedback == Feedback.solved else "that it did not help"


def _where(ticket: Ticket) -> str:
    return "closed" if ticket.status in (Status.resolved, Status.closed) else "with our support team"


def problem_page(checked: Checked) -> Page:
    problem = checked.problem
    assert problem is not None
    contact = "If you still need help, reply to our last email and we will take it from there."
    if problem == Problem.forged:
        lines = ["We cannot read this link: it may have been cut or changed.", contact]
        return Page("This link does not work", lines, status=STATUS[problem])
    if problem == Problem.other_ticket:
        lines = ["This link belongs to another request than the one in the address.", contact]
        return Page("This link is for another request", lines, status=STATUS[problem])
    ref = checked.ticket.ref if checked.ticket is not None else ""
    if problem == Problem.expired:
        lines = [f"The links in our email about {ref} work for a limited time, and this one has run out.", contact]
        return Page("This link has expired", lines, status=STATUS[problem])
    use = checked.use
    assert use is not None
    when = use.used_at.strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"You told us on {when} {_said(use)}. Each suggestion takes one answer, so nothing changed now.", contact]
    return Page(f"You already answered about this article ({ref})", lines, status=STATUS[problem])


def confirm_page(checked: Checked) -> Page:
    """The GET: what pressing the button will do (nothing has happened yet)."""
    assert checked.claim is not None and checked.ticket is not None and checked.suggestion is not None
    ticket, title = checked.ticket, checked.suggestion.title
    if checked.claim.feedback == Feedback.solved:
        lines = [f"You are telling us that “{title}” solved your request {ticket.ref} “{ticket.subject}”."]
        if in_self_service(ticket):
            lines.append("We will close the request. If you need us again, simply reply to our email.")
        else:
            lines.append(f"The request is already {_where(ticket)}; we will note that the article helped.")
        return Page("Did this article solve it?", lines, confirm="Yes, this solved it — close my request")
    lines = [f"You are telling us that “{title}” did not help with {ticket.ref} “{ticket.subject}”."]
    if in_self_service(ticket):
        lines.append("A member of our support team will take your request over.")
    else:
        lines.append(f"The request is already {_where(ticket)}; we will note that the article did not help.")
    return Page("This article did not help?", lines, confirm="No, it did not help — I need a person")


def done_page(checked: Checked) -> Page:
    """The POST's answer: what the link did."""
    assert checked.ticket is not None and checked.outcome is not None
    ref = checked.ticket.ref
    if checked.outcome == LinkOutcome.resolved:
        return Page("Thank you — your request is closed", [f"We closed {ref}. Reply to our email to reopen it."])
    if checked.outcome == LinkOutcome.escalated:
        return Page("Thank you — a person will take it from here", [f"{ref} is now with our support team."])
    return Page("Thank you for telling us", [f"We noted your answer about {ref}."])
