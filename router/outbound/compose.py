"""Build the email for an outbound message: threading headers, the ticket ref in the subject, loop
headers on automatic mail, the text rendered from ``templates/``."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from jinja2 import Environment
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.columns import utcnow
from router.models.tickets import AUTOMATIC_KINDS, Attachment, Message, Ticket, ticket_ref
from router.settings import Settings
from router.storage import BlobStore

TEMPLATE = "messages/outbound.txt"


def mail_domain(settings: Settings) -> str:
    return parseaddr(settings.mail_from)[1].rpartition("@")[2] or "tierroute.local"


def outbound_message_id(ticket_id: int, message_id: int, settings: Settings) -> str:
    """Deterministic, so a resend after a crash carries the same id and the receiver can drop it."""
    return f"<tierroute.t{ticket_id}.m{message_id}@{mail_domain(settings)}>"


def ref_of(ticket: Ticket) -> str:
    if ticket.ref:
        return ticket.ref
    assert ticket.id is not None
    return ticket_ref(ticket.id)


def subject_for(ticket: Ticket) -> str:
    subject = " ".join(ticket.subject.split())  # a subject with CR/LF would be a header injection
    tag = f"[{ref_of(ticket)}]"
    if tag not in subject:
        subject = f"{tag} {subject}"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


async def compose(
    session: AsyncSession,
    message: Message,
    ticket: Ticket,
    *,
    settings: Settings,
    templates: Environment,
    blobs: BlobStore | None = None,
) -> EmailMessage:
    """The mail of ``message``; with ``blobs``, the files an agent attached go with it."""
    assert message.id is not None and ticket.id is not None
    thread = (
        await session.exec(
            select(Message.message_id_header)
            .where(Message.ticket_id == ticket.id, col(Message.message_id_header).is_not(None))
            .where(Message.id != message.id)
            .order_by(col(Message.id))
        )
    ).all()
    last_inbound = (
        await session.exec(
            select(Message.message_id_header)
            .where(Message.ticket_id == ticket.id, Message.direction == "inbound")
            .where(col(Message.message_id_header).is_not(None))
            .order_by(col(Message.id).desc())
            .limit(1)
        )
    ).first()
    mail = EmailMessage()
    name, address = parseaddr(settings.mail_from)
    mail["From"] = Address(display_name=name, addr_spec=address) if name else address
    mail["To"] = ticket.requester_email
    mail["Subject"] = subject_for(ticket)
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = outbound_message_id(ticket.id, message.id, settings)
    if last_inbound:
        mail["In-Reply-To"] = last_inbound
    if thread:
        mail["References"] = " ".join(h for h in thread if h)
    if message.kind in AUTOMATIC_KINDS:
        # RFC 3834: automatic replies say so, so other robots do not answer them.
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
    mail["X-Tierroute-Ticket"] = ref_of(ticket)
    mail.set_content(templates.get_template(TEMPLATE).render(ticket=ticket, ref=ref_of(ticket), body=message.body_text))
    if blobs is not None:
        files = await session.exec(
            select(Attachment).where(Attachment.message_id == message.id).order_by(col(Attachment.id))
        )
        for a in files.all():
            maintype, _, subtype = a.content_type.partition("/")
            if not maintype or not subtype or maintype == "multipart":
                maintype, subtype = "application", "octet-stream"
            mail.add_attachment(blobs.get(a.sha256), maintype=maintype, subtype=subtype, filename=a.filename)
    return mail
