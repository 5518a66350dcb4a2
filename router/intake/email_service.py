"""Email intake: one raw message in, one outcome out — a new ticket, a reply on its ticket, an automatic
mail attached to its ticket, or a recorded drop. The same Message-ID is handled once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from mailparser_reply import EmailReplyParser
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.bounds import MAX_ROW_ID
from router.effects import EffectSink
from router.errors import Invalid, NotFound
from router.intake import senders
from router.intake import service as intake
from router.intake.limits import TooComplexEmail
from router.intake.mime import ParsedEmail, UnreadableEmail, parse_email
from router.intake.noise import no_ticket_reason, suppresses_auto_reply
from router.models.columns import utcnow
from router.models.intake import InboundMail
from router.models.tickets import TICKET_REF_IN_SUBJECT, Message, Ticket, ticket_ref
from router.offload import in_thread
from router.settings import Settings
from router.storage import BlobStore
from router.tickets import messages as ticket_messages
from router.tickets import self_service
from router.tickets import service as tickets
from router.tickets.inputs import InboundRecord, MailDetails, NewTicket, StoredAttachment, TicketContext
from rules import Rulebook

#: Mail up to this size is parsed on the event loop (a few milliseconds within the parser's limits); a
#: bigger one in a worker thread (``router.offload``): 19 MB of text costs over a second of CPU.
PARSE_INLINE_BYTES = 256 * 1024
#: A parse that takes longer than this is given up (503, the sender may retry; SMTP 451).
PARSE_SECONDS = 30.0

_reply_parser = EmailReplyParser(languages=["en", "de", "fr", "es", "nl", "it", "pt", "sv", "pl", "ja"])


@dataclass(frozen=True)
class EmailOutcome:
    outcome: str
    reason: str | None
    ticket_id: int | None
    ticket_ref: str | None
    duplicate: bool


async def _thread_ticket(session: AsyncSession, mail: ParsedEmail) -> Ticket | None:
    """The ticket this mail answers: by In-Reply-To/References (or a report's ids), else ``[T-000123]``."""
    ids = [*mail.in_reply_to, *reversed(mail.references), *mail.reported_ids]
    if ids:
        row = (
            await session.exec(select(Message.ticket_id).where(col(Message.message_id_header).in_(ids)).limit(1))
        ).first()
        if row is not None:
            return await _locked(session, row)
    found = TICKET_REF_IN_SUBJECT.search(mail.subject)
    if found:
        return await _locked(session, int(found.group(1)))
    return None


async def _locked(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """The thread's ticket under its row lock (a reply may reopen it while an agent changes it)."""
    if ticket_id > MAX_ROW_ID:  # a quoted reference no ticket can have (PostgreSQL would refuse the id)
        return None
    try:
        return await tickets.get(session, ticket_id, lock=True)
    except NotFound:
        return None


async def _too_many_from(session: AsyncSession, sender: str, settings: Settings) -> bool:
    since = utcnow() - timedelta(seconds=settings.mail_rate_window_seconds)
    count = (
        await session.exec(
            select(func.count())
            .select_from(InboundMail)
            .where(
                InboundMail.sender == sender, col(InboundMail.received_at) >= since, InboundMail.outcome == "created"
            )
        )
    ).one()
    return int(count) >= settings.mail_rate_limit


def _store_attachments(
    mail: ParsedEmail, store: BlobStore, limit: int
) -> tuple[tuple[StoredAttachment, ...], list[str]]:
    kept: list[StoredAttachment] = []
    skipped: list[str] = []
    for a in mail.attachments:
        if len(a.data) > limit:
            skipped.append(f"{a.filename} ({len(a.data)} bytes, over the {limit}-byte limit)")
            continue
        kept.append(
            StoredAttachment(a.filename, a.content_type, len(a.data), store.put(a.data), a.inline, a.content_id)
        )
    return tuple(kept), skipped


def _new_content(text: str) -> str:
    """The reply without the quoted conversation and signature (the raw mail is kept in full)."""
    try:
        stripped = _reply_parser.parse_reply(text=text)
    except Exception:  # the stripper is a heuristic; never lose the text over it
        return text
    return stripped.strip() or text


@dataclass(frozen=True)
class Prepared:
    """A raw email parsed, its raw copy and files stored: what every way of ingesting it starts from."""

    mail: ParsedEmail
    raw_sha256: str
    size: int
    text: str
    details: MailDetails


async def prepare_off_loop(raw: bytes, *, settings: Settings, store: BlobStore) -> Prepared:
    """``prepare``, in a worker thread when the mail is big enough to hold the event loop."""
    if len(raw) <= PARSE_INLINE_BYTES:
        return prepare(raw, settings=settings, store=store)
    return await in_thread(PARSE_SECONDS, "reading the email", prepare, raw, settings=settings, store=store)


def prepare(raw: bytes, *, settings: Settings, store: BlobStore) -> Prepared:
    """Parse and store (outside any transaction). ``Invalid`` (422) when the mail cannot be read or is
    beyond a parsing limit (``router.intake.mime``)."""
    try:
        mail = parse_email(raw)
    except TooComplexEmail as exc:
        raise Invalid(f"email refused: {exc}", field="body") from None
    except UnreadableEmail as exc:
        raise Invalid(f"unreadable email: {exc}", field="body") from None
    raw_sha = store.put(raw)
    attachments, skipped = _store_attachments(mail, store, settings.max_attachment_bytes)
    text = mail.text + "".join(f"\n[attachment not stored: {s}]" for s in skipped)
    return Prepared(mail, raw_sha, len(raw), text, MailDetails(mail.html, mail.message_id, raw_sha, attachments))


def new_ticket(prepared: Prepared, *, source: str, actor: str, settings: Settings) -> NewTicket | None:
    """The mail as batched intake takes it (``router.intake.batcher``), when it looks like a new ticket: not
    automatic mail and no ``[T-...]`` reference. Batched intake defers it to ``ingest_prepared`` if it turns
    out to be a reply, a repeat or over the sender's rate limit, so both ways end the same."""
    mail = prepared.mail
    if no_ticket_reason(mail) is not None or TICKET_REF_IN_SUBJECT.search(mail.subject):
        return None
    return NewTicket(
        source=source,
        delivery_id=None,
        subject=mail.subject or "(no subject)",
        body=prepared.text,
        requester_email=mail.sender.lower(),
        customer_ref=None,
        priority_hint=None,
        channel="email",
        actor=actor,
        default_customer_tier=settings.default_customer_tier,
        context=TicketContext(
            recipient=mail.recipients[0] if mail.recipients else None,
            auto_reply_suppressed=suppresses_auto_reply(mail),
            cc=senders.copied(mail, settings),
        ),
        mail=prepared.details,
        inbound=InboundRecord(
            message_id=mail.message_id,
            sender=mail.sender,
            subject=mail.subject,
            raw_sha256=prepared.raw_sha256,
            size=prepared.size,
            thread_ids=(*mail.in_reply_to, *mail.references, *mail.reported_ids),
            rate_limit=settings.mail_rate_limit,
            rate_window_seconds=settings.mail_rate_window_seconds,
        ),
    )


async def ingest(
    session: AsyncSession,
    sink: EffectSink,
    raw: bytes,
    *,
    settings: Settings,
    store: BlobStore,
    source: str,
    actor: tickets.Actor,
    rulebook: Rulebook | None = None,
) -> EmailOutcome:
    """Handle one raw email in the caller's transaction. ``Invalid`` (422) when it cannot be read."""
    prepared = await prepare_off_loop(raw, settings=settings, store=store)
    return await ingest_prepared(
        session, sink, prepared, settings=settings, source=source, actor=actor, rulebook=rulebook
    )


async def ingest_prepared(
    session: AsyncSession,
    sink: EffectSink,
    prepared: Prepared,
    *,
    settings: Settings,
    source: str,
    actor: tickets.Actor,
    rulebook: Rulebook | None = None,
) -> EmailOutcome:
    """Handle one prepared email in the caller's transaction, one at a time: every outcome."""
    mail, raw_sha, text, details = prepared.mail, prepared.raw_sha256, prepared.text, prepared.details
    seen = await _seen(session, mail.message_id)
    if seen is not None:
        return seen
    record = InboundMail(
        message_id=mail.message_id,
        source=source,
        sender=mail.sender,
        subject=mail.subject[:500],
        outcome="dropped",
        raw_sha256=raw_sha,
        size=prepared.size,
    )
    thread = await _thread_ticket(session, mail)
    noise = no_ticket_reason(mail)
    # Automatic mail never speaks for the requester (bounces come from mailer daemons): it is attached as is.
    foreign = noise is None and thread is not None and not await senders.may_write(session, thread, mail.sender)
    if noise is not None:
        record.reason = noise
        if thread is not None:
            kind = "bounce" if "report" in noise else "auto_reply"
            await tickets.add_inbound(session, thread, author=mail.sender, body=text, mail=details, kind=kind)
            record.outcome, record.ticket_id = "attached", thread.id
    elif thread is not None and not foreign:
        reply = _new_content(text)
        await tickets.add_inbound(session, thread, author=mail.sender, body=reply, mail=details)
        ticket_messages.widen_cc(thread, senders.copied(mail, settings))
        # A reply to a ticket in self-service says whether the suggestions solved it (docs/self-service.md).
        phrases = self_service.solved_phrases(settings)
        await self_service.read_reply(session, thread, author=mail.sender, text=reply, phrases=phrases)
        record.outcome, record.ticket_id = "appended", thread.id
    elif thread is not None and settings.thread_foreign_senders == "hold":
        await ticket_messages.hold_mail(session, thread, author=mail.sender, body=_new_content(text), mail=details)
        record.outcome, record.ticket_id = "held", thread.id
        record.reason = f"{mail.sender} may not write into {thread.ref}: held for an agent"
    elif await _too_many_from(session, mail.sender, settings):
        record.reason = (
            f"rate limit: {settings.mail_rate_limit} new tickets per {settings.mail_rate_window_seconds} s per sender"
        )
    else:
        result = await intake.submit(
            session,
            sink,
            source=source,
            delivery_id=None,
            subject=mail.subject or "(no subject)",
            body=text,
            requester_email=mail.sender,
            customer_ref=None,
            priority_hint=None,
            channel="email",
            default_customer_tier=settings.default_customer_tier,
            actor=actor,
            context=TicketContext(
                recipient=mail.recipients[0] if mail.recipients else None,
                auto_reply_suppressed=suppresses_auto_reply(mail),
                cc=senders.copied(mail, settings),
            ),
            mail=details,
            rulebook=rulebook,
        )
        record.outcome, record.ticket_id = "created", result.ticket.id
    if foreign and thread is not None and record.outcome != "held":
        opened = ticket_ref(record.ticket_id) if record.ticket_id else None
        ticket_messages.refuse_mail(session, thread, sender=mail.sender, message_id=mail.message_id, opened=opened)
        if opened:
            record.reason = f"{mail.sender} may not write into {thread.ref}: opened {opened} instead"
    # The same Message-ID arriving twice at once: the other copy may have won.
    winner = await intake.record_once(session, sink, record, lambda: _seen(session, mail.message_id))
    if winner is not None:
        return winner
    ref = ticket_ref(record.ticket_id) if record.ticket_id else None
    return EmailOutcome(record.outcome, record.reason, record.ticket_id, ref, duplicate=False)


async def _seen(session: AsyncSession, message_id: str) -> EmailOutcome | None:
    """What the first copy of this Message-ID did, as a duplicate's outcome; None for a new mail."""
    record = (await session.exec(select(InboundMail).where(InboundMail.message_id == message_id))).first()
    return _outcome(record, duplicate=True) if record is not None else None


def _outcome(record: InboundMail, *, duplicate: bool) -> EmailOutcome:
    ref = ticket_ref(record.ticket_id) if record.ticket_id else None
    return EmailOutcome(record.outcome, record.reason, record.ticket_id, ref, duplicate)
