"""A ticket's version: what a page or an API client saw, so a change made on a stale view can be caught.

The version is the ticket's ``updated_at`` in microseconds: every change that counts as an update (a reply,
a note, a status, tier or assignee change, a requester's mail) moves it, and bookkeeping (mail sent, SLA
warnings) does not, so a reply is questioned only when the ticket really changed under the agent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from router.models.tickets import Ticket

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def version_of(ticket: Ticket) -> str:
    moment = ticket.updated_at if ticket.updated_at.tzinfo else ticket.updated_at.replace(tzinfo=UTC)
    return str((moment - _EPOCH) // timedelta(microseconds=1))


def moment_of(version: str) -> datetime | None:
    """The moment a version names (to list what changed since), None for text that is no version."""
    if not version.isdigit() or len(version) > 20:
        return None
    return _EPOCH + timedelta(microseconds=int(version))


def etag_of(ticket: Ticket) -> str:
    """A strong ETag (``If-Match`` compares strongly): the ticket's id and version."""
    return f'"{ticket.id}-{version_of(ticket)}"'


def matches(ticket: Ticket, if_match: str) -> bool:
    """``If-Match`` holds: ``*``, or one of its listed ETags is the ticket's current one."""
    tags = [t.strip() for t in if_match.split(",")]
    return "*" in tags or etag_of(ticket) in tags
