"""What the engine reads (``Snapshot``) and what it answers (``Decision``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

#: Lowest to highest; a rule "raises" a priority by moving right.
PRIORITIES = ("low", "normal", "high", "urgent")
MAX_TIER = 4


@dataclass(frozen=True)
class Snapshot:
    """Everything a rule may look at, copied out of the ticket so evaluation is pure."""

    subject: str
    body: str
    sender: str
    customer_tier: int
    channel: str = "api"
    priority_hint: str | None = None
    customer_ref: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2].lower()


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form stored on the ticket and shown by the API."""
        data = asdict(self)
        data["tags"] = list(self.tags)
        data["matched"] = [asdict(m) for m in self.matched]
        return data
