"""Ticket, Message and Attachment tables."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Computed, Index, SmallInteger, text
from sqlmodel import Field, SQLModel

from router.models.columns import JSONColumn, UTCDateTime, utcnow
from rules.vocabulary import PRIORITY_RANK


class Status(StrEnum):
    new = "new"
    queued = "queued"
    in_progress = "in_progress"
    waiting_on_customer = "waiting_on_customer"
    resolved = "resolved"
    closed = "closed"


OPEN_STATUSES = (Status.new, Status.queued, Status.in_progress, Status.waiting_on_customer)


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class MailStatus(StrEnum):
    """``Message.delivery_status`` of an outbound mail: ``pending`` until the mailer sends it."""

    pending = "pending"
    sent = "sent"
    failed = "failed"


def ticket_ref(ticket_id: int) -> str:
    """The public reference shown to customers and quoted in mail subjects: ``T-000123``."""
    return f"T-{ticket_id:06d}"


#: A reference quoted in a mail subject, ``[T-000123]``; group 1 is the ticket id.
TICKET_REF_IN_SUBJECT = re.compile(r"\[T-(\d{6,18})\]")


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"
    note = "note"


#: ``Message.kind`` of tier automation's mail: the once-per-ticket acknowledgement, and the notice of a tier
#: move (sent only when ``TIERROUTE_TIER_MOVE_NOTICE`` is on). Both are automatic mail (loop headers).
ACKNOWLEDGEMENT_KIND = "acknowledgement"
TIER_NOTICE_KIND = "tier_notice"
AUTOMATIC_KINDS = frozenset({ACKNOWLEDGEMENT_KIND, TIER_NOTICE_KIND})


#: ``Ticket.priority_rank``'s definition: urgent 0, high 1, normal 2, low 3.
PRIORITY_RANK_SQL = (
    "CASE priority " + " ".join(f"WHEN '{p}' THEN {rank}" for p, rank in PRIORITY_RANK.items()) + " ELSE 4 END"
)
#: The statuses of open tickets as SQL, for the partial indexes over them.
_OPEN_SQL = "status IN (" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")"
#: Open and held by an agent (offered ones too): the assigner's loads.
OPEN_ASSIGNED_SQL = _OPEN_SQL + " AND assignee_id IS NOT NULL"
#: Waiting in a tier queue: queued and not offered to anyone (an offered ticket has its agent as assignee).
WAITING_SQL = "status = 'queued' AND assignee_id IS NULL"

#: ``Ticket.sla_next_due_at`` of a ticket with no counting clock (``router.bounds.LATEST_MOMENT``).
NO_SLA_DUE = datetime(9000, 1, 1, tzinfo=UTC)


def _over_open_tickets(name: str, *columns: str) -> Index:
    return Index(name, *columns, postgresql_where=text(_OPEN_SQL), sqlite_where=text(_OPEN_SQL))


class Ticket(SQLModel, table=True):
    __table_args__ = (
        Index("ix_ticket_status_tier", "status", "support_tier"),
        # An agent's text search checks each match's tier: from this index alone (an index-only scan),
        # rather than a visit to every matching ticket's row (migration 0033).
        Index("ix_ticket_id_tier", "id", "support_tier"),
        # The open tickets most urgent first, and a customer tier's oldest first: index scans that stop at
        # the page (a sort of every open ticket of a tier read each row: 100 ms at 37,000).
        Index(
            "ix_ticket_open_priority",
            "priority_rank",
            "id",
            postgresql_where=text(_OPEN_SQL),
            sqlite_where=text(_OPEN_SQL),
        ),
        Index(
            "ix_ticket_open_customer_tier",
            "customer_tier",
            "id",
            postgresql_where=text(_OPEN_SQL),
            sqlite_where=text(_OPEN_SQL),
        ),
        # "Due soonest" over the open tickets: an index scan in due order stops at the first page.
        Index("ix_ticket_sla_next_due", "sla_next_due_at", "id"),
        Index(
            "ix_ticket_sla_state_due",
            "sla_state",
            "sla_next_due_at",
            "id",
            postgresql_where=text("sla_state IS NOT NULL"),
            sqlite_where=text("sla_state IS NOT NULL"),
        ),
        Index("ix_ticket_source_external", "source", "external_id"),
        # The open tickets each agent holds, by tier: the assigner's loads, an index-only count (migration 0032).
        Index(
            "ix_ticket_open_assignee_tier",
            "assignee_id",
            "support_tier",
            postgresql_where=text(OPEN_ASSIGNED_SQL),
            sqlite_where=text(OPEN_ASSIGNED_SQL),
        ),
        # A tier's waiting tickets in claim order with their due time: the forecast's whole-queue read is an
        # index-only scan, not a sort of 100,000 rows (migration 0032).
        Index(
            "ix_ticket_waiting_claim_order",
            "support_tier",
            "priority_rank",
            "customer_tier",
            "created_at",
            "id",
            postgresql_include=["sla_next_due_at"],
            postgresql_where=text(WAITING_SQL),
            sqlite_where=text(WAITING_SQL),
        ),
        # Tier automation still to run: few rows at any time, read by every automation job and the sweep.
        Index(
            "ix_ticket_automation_pending",
            "automation_tier",
            "id",
            postgresql_where=text("automation_tier IS NOT NULL"),
            sqlite_where=text("automation_tier IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: Public reference shown to customers, ``T-000123``; set from the id in the intake transaction.
    ref: str | None = Field(default=None, max_length=20, unique=True)
    subject: str = Field(max_length=500)
    status: str = Field(default=Status.new, max_length=24)
    #: Empty until routed.
    support_tier: int | None = None
    priority: str = Field(default=Priority.normal, max_length=8)
    priority_hint: str | None = Field(default=None, max_length=8)
    requester_email: str = Field(max_length=320, index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    #: The customer's value tier when the ticket arrived (the customer may move later).
    customer_tier: int
    assignee_id: int | None = Field(default=None, foreign_key="agent.id", index=True)
    channel: str = Field(default="api", max_length=32)
    source: str = Field(default="api", max_length=64)
    external_id: str | None = Field(default=None, max_length=255)
    #: The support mailbox or intake address the ticket came in through.
    recipient: str | None = Field(default=None, max_length=320)
    product: str | None = Field(default=None, max_length=100)
    component: str | None = Field(default=None, max_length=100)
    #: The affected service (criticality is looked up in the rulebook).
    service: str | None = Field(default=None, max_length=100)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    #: Addresses copied on the ticket's mail (``To``/``Cc`` beside the support address): they may write into it.
    cc: list[str] = Field(
        default_factory=list, sa_column=Column(JSONColumn, nullable=False, server_default=text("'[]'"))
    )
    severity: str | None = Field(default=None, max_length=32)
    sla_policy: str | None = Field(default=None, max_length=64)
    queue_group: str | None = Field(default=None, max_length=64)
    escalation_count: int = 0
    reopen_count: int = 0
    #: The routing decision as stored: tier, priority, rules matched with the values they saw, version.
    decision: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONColumn))
    rulebook_version: str | None = Field(default=None, max_length=64)
    #: The requester's mail said "no automatic replies" (auto-reply, list or loop headers): automation stays quiet.
    auto_reply_suppressed: bool = False
    #: Tier whose automation job still has to run (cleared by the job); lets reconcile re-enqueue it.
    automation_tier: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    queued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Indexed for the reports' "tickets out" (resolved in a window).
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    #: Head of the audit chain: the number and hash of the last event (catches a deleted tail).
    audit_seq: int = 0
    audit_head: str = Field(default="", max_length=64)
    #: The soonest due time of its counting (running, not paused) SLA clocks; ``NO_SLA_DUE`` without one, so
    #: that it sorts last and a cursor over it needs no NULL case. Kept by the database's triggers on
    #: ``sla_clock`` (migration 0028), never written by the application: lists sort and page on it.
    sla_next_due_at: datetime = Field(default=NO_SLA_DUE, sa_type=UTCDateTime)
    #: The worst state of its running clocks (``breached``, ``warning``, ``paused``, ``ok``), empty without
    #: one; kept by the same triggers, for the lists' SLA filter.
    sla_state: str | None = Field(default=None, max_length=16)
    #: ``priority`` as its place in "most urgent first" (``PRIORITY_RANK``), computed by the database, so
    #: that the lists' priority order is an index scan (migration 0029).
    priority_rank: int | None = Field(
        default=None, sa_column=Column(SmallInteger, Computed(PRIORITY_RANK_SQL), nullable=True)
    )


class Message(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    direction: str = Field(max_length=16)
    #: ``message`` for people's words, ``AUTOMATIC_KINDS`` for tier automation.
    kind: str = Field(default="message", max_length=32)
    author: str = Field(max_length=320)
    body_text: str
    body_html: str | None = None
    #: For outbound mail: a ``MailStatus``, ``pending`` until the mailer sends it, then ``sent``/``failed``.
    delivery_status: str | None = Field(default=None, max_length=16)
    #: Why the last send attempt failed (outbound mail), shown on the ticket.
    delivery_error: str | None = Field(default=None, max_length=500)
    #: The RFC 5322 Message-ID this message was received or sent with (threading looks it up).
    message_id_header: str | None = Field(default=None, max_length=998, index=True)
    #: SHA-256 of the raw email as received, kept on disk (the stored text may be quote-stripped).
    raw_sha256: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Attachment(SQLModel, table=True):
    """File content lives on disk under its sha256; the row keeps what the sender called it."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=255)
    size: int
    sha256: str = Field(max_length=64, index=True)
    inline: bool = False
    content_id: str | None = Field(default=None, max_length=255)
