"""Ticket shapes of the JSON API (kept stable: see DESIGN.md, public surface)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from router.sla.schemas import SlaOut
from rules.vocabulary import MAX_SUPPORT_TIER, MIN_SUPPORT_TIER


def _no_nul(value: str) -> str:
    """NUL characters cannot be stored (PostgreSQL refuses them) and mean nothing in a ticket; lone
    surrogates are not text at all."""
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("contains invalid characters (lone UTF-16 surrogates)")
    return value.replace("\x00", "")


Text = Annotated[str, AfterValidator(_no_nul)]


def _clean_before_measuring(value: object) -> object:
    """NUL dropped before the type and length checks run (anything but a string is left to the type check)."""
    return _no_nul(value) if isinstance(value, str) else value


#: Cleaned as ``Text`` is, but before its length is measured: for identifiers and short fields, where a
#: lone NUL must be refused as empty, not stored as "" (two such external ids would be one ticket).
CleanText = Annotated[str, BeforeValidator(_clean_before_measuring)]


class TicketOut(BaseModel):
    id: int
    ref: str
    subject: str
    status: str
    support_tier: int | None
    priority: str
    customer_tier: int
    customer_id: int | None
    requester_email: str
    assignee_id: int | None
    channel: str
    tags: list[str]
    severity: str | None
    sla_policy: str | None
    queue_group: str | None
    product: str | None
    component: str | None
    service: str | None
    escalation_count: int
    reopen_count: int
    decision: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    #: SLA clocks (``None`` until the ticket is routed).
    sla: SlaOut | None = None


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str


class MessageOut(BaseModel):
    id: int
    direction: str
    kind: str
    author: str
    body_text: str
    delivery_status: str | None
    delivery_error: str | None
    created_at: datetime
    #: Files on the message (``GET /tickets/{id}/attachments/{attachment_id}`` downloads one).
    attachments: list[AttachmentOut] = []


class TicketDetail(TicketOut):
    messages: list[MessageOut]


class TicketList(BaseModel):
    items: list[TicketOut]
    total: int
    #: A text search (``q``) counts up to 1,000 matches best match first (10,000 in another order): true
    #: when there are more than ``total``.
    total_capped: bool = False
    offset: int
    limit: int
    #: Give it as ``cursor`` for the next page; None on the last page.
    next_cursor: str | None = None


class EscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Text = Field(min_length=1, max_length=2000)
    to_tier: int | None = Field(default=None, ge=MIN_SUPPORT_TIER, le=MAX_SUPPORT_TIER)


class DeescalateIn(EscalateIn):
    pass


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    resolution: Text | None = Field(default=None, max_length=10_000)


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Text | None = Field(default=None, max_length=2000)


class WaitIn(ReopenIn):
    pass


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    body: Text = Field(min_length=1, max_length=200_000)
    internal: bool = False


class AuditEventOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    from_tier: int | None
    to_tier: int | None
    reason: str | None
    data: dict[str, Any]
    prev_hash: str
    #: The event's seal: HMAC-SHA256 (under the key ``key_id`` names) of the event, ``prev_hash`` and ``state``.
    hash: str
    #: Which HMAC key sealed it; null for a legacy event (plain SHA-256, written before the chain was keyed).
    key_id: str | None = None
    #: The ticket's status, tier, priority, assignee and customer tier after the event; null for legacy events.
    state: dict[str, Any] | None = None


class AuditVerifyOut(BaseModel):
    """The chain checked with the installation's key (docs/audit.md lists what each ``problem`` means)."""

    ticket_id: int
    valid: bool
    events: int
    broken_at_seq: int | None
    problem: str | None
    #: Events from before the chain was keyed (plain SHA-256) at the start of the chain.
    legacy_events: int = 0
