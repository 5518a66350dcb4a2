"""What callers hand the ticket service beyond plain words: the mail's extras and the ticket's context."""

from __future__ import annotations

from dataclasses import dataclass


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
    #: The first mail asked not to be auto-answered (list, loop or auto-reply headers).
    auto_reply_suppressed: bool = False
