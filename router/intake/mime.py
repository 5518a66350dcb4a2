"""Read raw email (RFC 5322 bytes) into what tierroute needs, whatever shape the message is in.

Real mail lies about charsets, breaks MIME and omits headers. Every step here has a fallback: the
stdlib parser with ``policy.default``; charset-normalizer where a declared charset fails or lies;
inscriptis for HTML-only mail (the HTML itself is kept, sanitized by nh3); attachments of every kind,
forwarded messages and uuencoded parts included. Only a message with nothing in it is refused, and one
built to hold the parser (``router.intake.limits``: ``TooComplexEmail``).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

import charset_normalizer
import nh3
from inscriptis import get_text

from router.intake.limits import TooComplexEmail, message_from_bytes

_SINGLE_BYTE = re.compile(r"^(us-ascii|ascii|iso-8859-\d+|latin-?\d|windows-125\d|cp125\d)$", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


class UnreadableEmail(ValueError):
    """The bytes hold no message we could make a ticket from; ``str(exc)`` says why."""


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    subject: str
    sender: str
    sender_name: str
    recipients: tuple[str, ...]
    date: datetime | None
    text: str
    html: str | None
    attachments: tuple[ParsedAttachment, ...]
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    #: Lower-cased header names → values, for the headers loop protection reads.
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain"
    #: Message-IDs a delivery report or receipt is about.
    reported_ids: tuple[str, ...] = ()
    #: ``Message-ID`` was missing and this one was made from the bytes.
    synthetic_id: bool = False
    #: Everyone the mail was addressed to (``To`` and ``Cc``): who may write into the thread it starts.
    addressed: tuple[str, ...] = ()


LOOP_HEADERS = (
    "auto-submitted",
    "x-loop",
    "precedence",
    "x-auto-response-suppress",
    "x-autoreply",
    "x-autorespond",
    "return-path",
    "list-unsubscribe",
    "list-id",
    "x-autoresponder",
)


def _header(message: Message, name: str) -> str | None:
    """A header as text, or None; a header too broken to parse is read raw rather than raising."""
    try:
        value = message.get(name)
    except Exception:  # malformed headers raise from the header registry: read the stored raw value
        raw = [v for k, v in message.raw_items() if k.lower() == name]
        value = str(raw[0]) if raw else None
    if value is None:
        return None
    try:
        return str(value).strip()
    except Exception:
        return None


def _decode_bytes(payload: bytes, declared: str | None) -> str:
    """Decode with the declared charset unless it fails or evidently lies; else let charset-normalizer guess."""
    if not payload:
        return ""
    if declared and _SINGLE_BYTE.match(declared) and not payload.isascii():
        try:
            return payload.decode("utf-8")  # declared Latin-1 (or none) but the bytes are valid UTF-8
        except UnicodeDecodeError:
            pass
    if declared:
        try:
            return payload.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        best = charset_normalizer.from_bytes(payload).best()
        return str(best) if best is not None else payload.decode("utf-8", errors="replace")


_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def clean_text(value: str) -> str:
    """Text any database can store: raw 8-bit header bytes (surrogate-escaped by the parser) decoded by
    charset detection, NUL characters removed (PostgreSQL refuses them)."""
    if _ESCAPED_BYTE.search(value):
        value = _decode_bytes(value.encode("utf-8", "surrogateescape"), None)
    return value.replace("\x00", "")


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return _decode_bytes(payload, part.get_content_charset())
    raw = part.get_payload()
    return raw if isinstance(raw, str) else ""


def _ids(value: str | None) -> tuple[str, ...]:
    return tuple(_MESSAGE_ID.findall(value or ""))


_COMMENT = re.compile(r"\([^()]*\)")
_ADDR_SPEC = re.compile(r"[^\s<>()\[\],;:\"]+@[^\s<>()\[\],;:\"]+")


def _addresses(message: Message, *names: str) -> list[tuple[str, str]]:
    values = [v for v in (_header(message, n) for n in names) if v]
    try:
        found = [(name, addr) for name, addr in getaddresses(values) if addr and "@" in addr]
    except Exception:
        found = []
    if found or not values:
        return found
    # Obsolete syntax (comments and folding inside the address): drop comments and spaces, then look again.
    squeezed = [_COMMENT.sub("", v) for v in values]
    return [("", m.group(0)) for v in squeezed for m in [_ADDR_SPEC.search(re.sub(r"\s*([.@])\s*", r"\1", v))] if m]


_HEADER_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")
#: RFC 5322's obsolete syntax allows spaces before the colon (``From  :``).
_OBSOLETE_COLON = re.compile(rb"^([!-9;-~]+)[ \t]+:")


def _repair_headers(raw: bytes) -> bytes:
    """Drop lines in the header block that are neither headers nor continuations (the stdlib parser stops
    at the first such line and takes the rest, From included, for the body)."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, sep, body = raw.partition(separator)
        if sep:
            break
    else:
        head, sep, body = raw, b"", b""
    lines = head.splitlines(keepends=True)
    kept = [
        _OBSOLETE_COLON.sub(rb"\1:", line) for line in lines if _HEADER_LINE.match(line) or line[:1] in (b" ", b"\t")
    ]
    return b"".join(kept) + sep + body


def _date(message: Message) -> datetime | None:
    value = _header(message, "date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    return name.strip() if isinstance(name, str) and name.strip() else None


_EXTENSIONS = {"message/rfc822": ".eml", "text/calendar": ".ics", "image/png": ".png", "image/jpeg": ".jpg"}


def _message_bytes(message: Message) -> bytes:
    """A forwarded message as bytes, even when its headers hold characters its declared encoding cannot."""
    try:
        return message.as_bytes()
    except (UnicodeError, LookupError, ValueError):
        return message.as_string(policy=email.policy.compat32).encode("utf-8", "surrogateescape")


def _attachment(part: Message, index: int) -> ParsedAttachment | None:
    content_type = part.get_content_type()
    if content_type == "message/rfc822":
        inner = part.get_payload()
        inner_message = inner[0] if isinstance(inner, list) and inner else None
        data = _message_bytes(inner_message) if isinstance(inner_message, Message) else b""
    else:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
    if not data:
        return None
    disposition = (part.get_content_disposition() or "").lower()
    name = _filename(part) or f"part-{index}{_EXTENSIONS.get(content_type, '.bin')}"
    content_id = _header(part, "content-id")
    return ParsedAttachment(name, content_type, data, inline=disposition == "inline", content_id=content_id)


_UUENCODED = re.compile(r"^begin [0-7]{3,4} (?P<name>\S[^\r\n]*)\r?\n(?P<body>.*?)^end\s*$", re.MULTILINE | re.DOTALL)


def _uudecode(text: str) -> tuple[str, list[ParsedAttachment]]:
    """Inline uuencoded files in a text body (old mailers): cut them out as attachments."""
    import binascii

    found: list[ParsedAttachment] = []

    def take(match: re.Match[str]) -> str:
        data = bytearray()
        try:
            for line in match.group("body").splitlines():
                if line.strip() in ("", "`"):
                    continue
                data += binascii.a2b_uu(line)
        except binascii.Error:
            return match.group(0)
        found.append(ParsedAttachment(match.group("name").strip(), "application/octet-stream", bytes(data)))
        return f"[attachment: {match.group('name').strip()}]"

    return _UUENCODED.sub(take, text), found


def _forwarded_part_ids(message: Message) -> set[int]:
    """ids of the parts that travel inside a forwarded message (they stay in its .eml attachment)."""
    inside: set[int] = set()
    for container in message.walk():
        if container is not message and container.get_content_type() == "message/rfc822":
            payload = container.get_payload()
            for sub in payload if isinstance(payload, list) else []:
                if isinstance(sub, Message):
                    inside.update(id(p) for p in sub.walk())
    return inside


def _walk_parts(message: Message) -> tuple[Message | None, Message | None, list[Message]]:
    """The plain body part, the HTML body part and the attachment parts (forwarded messages whole).

    One walk, each part's content type parsed once: header parsing is most of the cost of a message.
    """
    inside = _forwarded_part_ids(message)
    plain = html = None
    others: list[Message] = []
    for part in message.walk():
        if part is message and part.is_multipart():
            continue
        if id(part) in inside:
            continue
        content_type = part.get_content_type()
        if content_type == "message/rfc822" and part is not message:
            others.append(part)
            continue
        if part.is_multipart():
            continue
        disposition = (part.get_content_disposition() or "").lower()
        body_like = disposition != "attachment" and _filename(part) is None
        if content_type == "text/plain" and body_like and plain is None:
            plain = part
        elif content_type == "text/html" and body_like and html is None:
            html = part
        elif content_type in ("text/plain", "text/html") and body_like:
            continue  # an alternative or extra body part: the first one is the body
        else:
            others.append(part)
    return plain, html, others


_MESSAGE_ID_LINE = re.compile(r"(?im)^message-id:(.*)$")


def _reported_ids(report: Message) -> list[str]:
    """Message-IDs of the message a delivery report or read receipt is about."""
    found: list[str] = []
    for part in report.walk():
        if part.get_content_type() not in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            continue
        inner = part.get_payload()
        if isinstance(inner, list):
            for sub in inner:
                if isinstance(sub, Message):
                    found.extend(_ids(_header(sub, "message-id")))
        elif isinstance(inner, str):
            line = _MESSAGE_ID_LINE.search(inner)
            found.extend(_ids(line.group(1)) if line else ())
    return found


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse raw bytes; raises ``UnreadableEmail`` only when there is nothing to make a ticket from.

    Each step has its own fallback; should a message still break the parser in a way not foreseen, it
    is refused as unreadable (a 4xx for the sender) rather than failing the server.
    """
    try:
        return _parse(raw)
    except (UnreadableEmail, TooComplexEmail):
        raise
    except Exception as exc:
        raise UnreadableEmail(f"the message could not be parsed ({exc.__class__.__name__})") from exc


def _parse(raw: bytes) -> ParsedEmail:
    if not raw or not raw.strip():
        raise UnreadableEmail("the message is empty")
    try:
        message: Any = message_from_bytes(raw, email.policy.default)
    except TooComplexEmail:
        raise
    except Exception:  # pragma: no cover - the stdlib parser is lenient; keep a last resort anyway
        message = message_from_bytes(raw, email.policy.compat32)
    senders = _addresses(message, "from") or _addresses(message, "sender") or _addresses(message, "reply-to")
    if not senders:
        repaired = _repair_headers(raw)
        if repaired != raw:
            message = message_from_bytes(repaired, email.policy.default)
            senders = _addresses(message, "from") or _addresses(message, "sender")
    if not senders:
        raise UnreadableEmail("the message has no sender address (From)")
    sender_name, sender = senders[0]
    plain, html_part, others = _walk_parts(message)
    html_source = _part_text(html_part) if html_part is not None else None
    text = _part_text(plain) if plain is not None else ""
    if not text.strip() and html_source:
        text = get_text(html_source)
    text, uu_files = _uudecode(text)
    attachments = [a for i, p in enumerate(others) if (a := _attachment(p, i)) is not None]
    attachments.extend(uu_files)
    subject = _header(message, "subject") or ""
    message_id_values = _ids(_header(message, "message-id"))
    synthetic = not message_id_values
    message_id = message_id_values[0] if message_id_values else f"<sha256-{hashlib.sha256(raw).hexdigest()}@tierroute>"
    if not subject and not text.strip() and not attachments:
        raise UnreadableEmail("the message has no subject, no text and no attachments")
    content_type = message.get_content_type()
    reported = _reported_ids(message) if content_type == "multipart/report" else []
    headers = {name: v for name in LOOP_HEADERS if (v := _header(message, name)) is not None}
    return ParsedEmail(
        message_id=clean_text(message_id)[:998],
        subject=" ".join(clean_text(subject).split())[:500],
        sender=clean_text(sender).lower()[:320],
        sender_name=clean_text(sender_name),
        recipients=tuple(clean_text(addr).lower()[:320] for _, addr in _addresses(message, "to", "cc", "delivered-to")),
        date=_date(message),
        text=clean_text(text).strip(),
        html=clean_text(nh3.clean(html_source)) if html_source else None,
        attachments=tuple(replace(a, filename=clean_text(a.filename)[:255]) for a in attachments),
        in_reply_to=_ids(_header(message, "in-reply-to")),
        references=_ids(_header(message, "references")),
        headers=headers,
        content_type=content_type,
        reported_ids=tuple(reported),
        synthetic_id=synthetic,
        addressed=tuple(clean_text(addr).lower()[:320] for _, addr in _addresses(message, "to", "cc")),
    )
