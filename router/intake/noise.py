"""Mail that must not open tickets (auto-replies, bulk, bounces) and mail we must not auto-answer.

Follows RFC 3834 and what real mailers send: ``Auto-Submitted`` other than ``no``, ``X-Autoreply``,
``X-Autorespond``, ``Precedence: bulk|junk|list``, an empty return path, delivery reports
(``multipart/report``, mailer-daemon senders). ``X-Auto-Response-Suppress``, ``List-Unsubscribe`` and
``X-Loop`` do not stop a ticket but do stop automatic answers.
"""

from __future__ import annotations

from router.intake.mime import ParsedEmail

_DAEMONS = ("mailer-daemon@", "postmaster@")


def no_ticket_reason(mail: ParsedEmail) -> str | None:
    """Why this mail must not open a ticket, or None if it may."""
    h = mail.headers
    if mail.content_type == "multipart/report":
        return "delivery report (multipart/report)"
    if mail.sender.startswith(_DAEMONS):
        return f"delivery report (from {mail.sender})"
    auto = h.get("auto-submitted", "").strip().lower()
    if auto and not auto.startswith("no"):
        return f"automatic reply (Auto-Submitted: {auto})"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if name in h:
            return f"automatic reply ({name})"
    precedence = h.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"bulk mail (Precedence: {precedence})"
    if "return-path" in h and h["return-path"].strip() in ("<>", ""):
        return "empty return path (a bounce or automatic message)"
    return None


def suppresses_auto_reply(mail: ParsedEmail) -> bool:
    """The sender asked not to be auto-answered, or the mail comes from a list or a loop."""
    h = mail.headers
    return any(name in h for name in ("x-auto-response-suppress", "list-unsubscribe", "list-id", "x-loop"))
