"""Read a raw email (RFC 5322 bytes) into the parts tierroute uses. The email-intake issue grows this
(charsets that lie, broken MIME, HTML sanitising); today it serves ``rules explain --eml``."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser


class _TextOfHtml(HTMLParser):
    """The visible text of an HTML part (scripts and styles dropped)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    return " ".join("".join(parser.parts).split(" ")).strip()


@dataclass(frozen=True)
class ParsedEmail:
    subject: str
    sender: str
    recipients: tuple[str, ...]
    text: str
    attachments: tuple[tuple[str, str], ...]
    date: datetime | None
    message_id: str | None


def parse_email(raw: bytes) -> ParsedEmail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    senders = getaddresses([str(message.get("From", ""))])
    recipients = getaddresses([str(v) for v in message.get_all("To", []) + message.get_all("Cc", [])])
    body = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        content = body.get_content()
        text = html_to_text(content) if body.get_content_subtype() == "html" else str(content)
    attachments = tuple(
        (part.get_filename() or "unnamed", part.get_content_type()) for part in message.iter_attachments()
    )
    try:
        date = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        date = None
    if date is not None and date.tzinfo is None:
        date = None
    return ParsedEmail(
        subject=str(message.get("Subject", "")).strip(),
        sender=senders[0][1].lower() if senders and senders[0][1] else "",
        recipients=tuple(addr.lower() for _, addr in recipients if addr),
        text=text.strip(),
        attachments=attachments,
        date=date,
        message_id=str(message["Message-ID"]).strip() if message["Message-ID"] else None,
    )
