"""What the engine reads (``Snapshot``) and what it answers (``Decision``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

#: Default severities, most severe first (a rulebook may name its own).
SEVERITIES = ("critical", "major", "minor", "question")


@dataclass(frozen=True)
class AttachmentInfo:
    filename: str
    content_type: str


@dataclass(frozen=True)
class Snapshot:
    """Everything a rule may look at, copied out of the ticket so evaluation is pure."""

    subject: str
    body: str
    sender: str
    customer_tier: int
    channel: str = "api"
    source: str = "api"
    recipient: str | None = None
    priority_hint: str | None = None
    customer_ref: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    product: str | None = None
    component: str | None = None
    service: str | None = None
    tags: tuple[str, ...] = ()
    attachments: tuple[AttachmentInfo, ...] = ()
    message_count: int = 1
    reopen_count: int = 0
    #: When the ticket arrived (timezone-aware); business-hours conditions read it.
    received_at: datetime | None = None

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2].lower()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Snapshot:
        """Build a snapshot from plain data (JSON files, rule test cases); unknown keys are an error."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown snapshot field(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = dict(data)
        values.setdefault("subject", "")
        values.setdefault("body", "")
        values.setdefault("sender", "someone@example.com")
        values.setdefault("customer_tier", 3)
        if "attachments" in values:
            values["attachments"] = tuple(
                a if isinstance(a, AttachmentInfo) else AttachmentInfo(str(a["filename"]), str(a["content_type"]))
                for a in values["attachments"]
            )
        if "tags" in values:
            values["tags"] = tuple(values["tags"])
        if isinstance(values.get("received_at"), str):
            values["received_at"] = datetime.fromisoformat(values["received_at"])
        return cls(**values)


@dataclass(frozen=True)
class RuleMatch:
    """One rule that matched: what it saw and what it did."""

    rule_id: str
    description: str
    saw: dict[str, Any]
    actions: dict[str, Any]


@dataclass(frozen=True)
class Decision:
    support_tier: int
    priority: str
    tags: tuple[str, ...]
    matched: tuple[RuleMatch, ...]
    rulebook_version: str
    severity: str = "minor"
    sla_policy: str | None = None
    queue_group: str | None = None
    #: Vendor for a tier-4 handoff, when a rule names one (else the webhooks configuration's default).
    vendor: str | None = None
    notes: tuple[str, ...] = ()
    #: Changes made after the rules: the customer-tier matrix and skip-self-service.
    adjustments: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form stored on the ticket and shown by the API."""
        data = asdict(self)
        data["tags"] = list(self.tags)
        data["notes"] = list(self.notes)
        data["adjustments"] = list(self.adjustments)
        data["matched"] = [asdict(m) for m in self.matched]
        return data
