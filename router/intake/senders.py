"""Who may write into a ticket by email: its requester, a contact of its customer, or an address copied on
its mail (its CC list). Threading by ``[T-000123]`` or by Message-ID alone is guessable (references are
sequential, our own Message-IDs deterministic), so the sender decides whether a mail joins the thread."""

from __future__ import annotations

from email.utils import parseaddr

from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers import service as customers
from router.intake.mime import ParsedEmail
from router.models.tickets import Ticket
from router.settings import Settings


async def may_write(session: AsyncSession, ticket: Ticket, sender: str) -> bool:
    """True for the requester, an address on the ticket's CC list, or one its customer owns (as a contact or
    by domain: the one definition of which customer owns a requester)."""
    sender = sender.lower()
    if sender == ticket.requester_email.lower() or sender in ticket.cc:
        return True
    if ticket.customer_id is None:
        return False
    owner = await customers.find_for_requester(session, sender, None)
    return owner is not None and owner.id == ticket.customer_id


def copied(mail: ParsedEmail, settings: Settings) -> tuple[str, ...]:
    """The addresses a mail was written to besides its sender and our own mailboxes."""
    ours = {a.lower() for a in settings.support_addresses} | {parseaddr(settings.mail_from)[1].lower()}
    return tuple(a for a in dict.fromkeys(mail.addressed) if a and a != mail.sender and a not in ours)
