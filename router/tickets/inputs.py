"""What callers hand the ticket service beyond plain words: the mail's extras and the ticket's context."""

from __future__ import annotations

from dataclasses import dataclass, field

from router.errors import DomainError


@dataclass(frozen=True)
class StoredAttachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    inline: bool = False
    content_id: str | None = None


@dataclass(frozen=True)
class MailDetails:
    """What an email adds to a message beyond its text: HTML, ids for threading, the raw copy, files."""

    html: str | None = None
    message_id_header: str | None = None
    raw_sha256: str | None = None
    attachments: tuple[StoredAttachment, ...] = ()


@dataclass(frozen=True)
class TicketContext:
    """What the sender told us about the ticket beyond its words; rules may route on all of it."""

    recipient: str | None = None
    product: str | None = None
    component: str | None = None
    service: str | None = None
    tags: tuple[str, ...] = ()
    #: Addresses copied on the first mail: besides the requester, they may write into the ticket by mail.
    cc: tuple[str, ...] = ()
    #: The first mail asked not to be auto-answered (list, loop or auto-reply headers).
    auto_reply_suppressed: bool = False


@dataclass(frozen=True)
class InboundRecord:
    """An email that opens a ticket: its ledger row (``inbound_mail``, unique by Message-ID), what threading
    looks up, and the sender's rate limit. A mail that turns out to answer a ticket, a Message-ID seen
    before, or a sender over the limit comes back ``Deferred``: the one-at-a-time path records those."""

    message_id: str
    sender: str
    subject: str
    raw_sha256: str
    size: int
    #: In-Reply-To, References and a report's original ids: any of them on a stored message threads it.
    thread_ids: tuple[str, ...]
    #: At most ``rate_limit`` new tickets per sender in ``rate_window_seconds``.
    rate_limit: int
    rate_window_seconds: int


@dataclass(frozen=True)
class NewTicket:
    """What intake knows of a ticket to open (JSON intake and signed webhooks hand in the same shape)."""

    source: str
    delivery_id: str | None
    subject: str
    body: str
    requester_email: str
    customer_ref: str | None
    priority_hint: str | None
    channel: str
    actor: str
    default_customer_tier: int
    context: TicketContext = field(default_factory=TicketContext)
    #: The sender's own id for the ticket, stored on it; the delivery id when not given.
    external_id: str | None = None
    #: Signed webhooks: a ticket still open with the same ``external_id`` from the same source takes the
    #: delivery as a comment instead (a repeated alert), which the one-at-a-time path does (``Deferred``).
    merge_open: bool = False
    #: Email: the message's HTML, ids and stored files, and its ``inbound_mail`` ledger row.
    mail: MailDetails = field(default_factory=MailDetails)
    inbound: InboundRecord | None = None

    @property
    def key(self) -> tuple[str, str] | None:
        return (self.source, self.delivery_id) if self.delivery_id is not None else None

    @property
    def ticket_external_id(self) -> str | None:
        return self.external_id if self.external_id is not None else self.delivery_id


@dataclass(frozen=True)
class Opened:
    ticket_id: int
    ref: str
    status: str
    #: False when the delivery had made this ticket already (a redelivery, or a copy in the same batch).
    created: bool
    #: What the delivery did, as its ledger row says: ``created``, or for a redelivery what the first copy
    #: did (a webhook delivery may have commented on an open ticket).
    outcome: str = "created"


@dataclass(frozen=True)
class Deferred:
    """Not a new ticket after all (``NewTicket.merge_open``): the caller runs the delivery the one-at-a-time
    way, in a transaction of its own, after this batch committed."""


#: What opening one item of a batch came to.
Outcome = Opened | Deferred | DomainError
