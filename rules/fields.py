"""The fields a condition can test, what kind of value each has, and how to read it from a snapshot."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rules.calendar import BusinessCalendar
from rules.model import Snapshot

Kind = Literal["text", "scalar", "number", "list", "bool", "any"]
#: Rules read this much of the body: matching costs ~0.1 s per MB of text, and 19 MB of pasted log
#: held a request's event loop for 2.2 s. What a ticket is about is said long before this.
BODY_CHARS_MATCHED = 100_000


@dataclass(frozen=True)
class Env:
    """Rulebook-wide facts fields may need: service criticality map and the business calendar."""

    services: Mapping[str, int]
    calendar: BusinessCalendar | None


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    get: Callable[[Snapshot, Env], Any]
    help: str


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def _business_hours(s: Snapshot, env: Env) -> bool | None:
    if env.calendar is None or s.received_at is None:
        return None
    return env.calendar.is_open(s.received_at)


_FIELDS = [
    FieldSpec("subject", "text", lambda s, e: s.subject, "the subject line"),
    FieldSpec("body", "text", lambda s, e: s.body[:BODY_CHARS_MATCHED], "the first message's text"),
    FieldSpec("text", "text", lambda s, e: f"{s.subject}\n{s.body[:BODY_CHARS_MATCHED]}", "subject and body together"),
    FieldSpec("sender", "text", lambda s, e: s.sender.lower(), "the requester's address"),
    FieldSpec("sender_domain", "text", lambda s, e: s.sender_domain, "the requester's domain"),
    FieldSpec("recipient", "text", lambda s, e: _lower(s.recipient), "the support mailbox written to"),
    FieldSpec("channel", "scalar", lambda s, e: s.channel, "email, web, api, chat, webhook, ..."),
    FieldSpec("source", "scalar", lambda s, e: s.source, "the intake source (webhook source name, mailbox)"),
    FieldSpec(
        "customer_tier",
        "number",
        lambda s, e: s.customer_tier,
        "customer value tier, 1 to 4 (which end is the best: tier policy)",
    ),
    FieldSpec("customer_ref", "scalar", lambda s, e: s.customer_ref, "the customer's external reference"),
    FieldSpec("product", "scalar", lambda s, e: s.product, "product named by the ticket"),
    FieldSpec("component", "scalar", lambda s, e: s.component, "component named by the ticket"),
    FieldSpec("service", "scalar", lambda s, e: s.service, "the affected service"),
    FieldSpec(
        "service.criticality",
        "number",
        lambda s, e: e.services.get(s.service) if s.service else None,
        "criticality of the affected service (from the rulebook's services map; 1 = most critical)",
    ),
    FieldSpec("tags", "list", lambda s, e: list(s.tags), "tags the ticket arrived with"),
    FieldSpec("attachments.present", "bool", lambda s, e: bool(s.attachments), "whether there are attachments"),
    FieldSpec("attachments.count", "number", lambda s, e: len(s.attachments), "number of attachments"),
    FieldSpec(
        "attachments.types",
        "list",
        lambda s, e: [a.content_type.lower() for a in s.attachments],
        "content types of the attachments",
    ),
    FieldSpec("message_count", "number", lambda s, e: s.message_count, "messages from the requester so far"),
    FieldSpec("reopen_count", "number", lambda s, e: s.reopen_count, "times the ticket was reopened"),
    FieldSpec("business_hours", "bool", _business_hours, "inside the rulebook's business hours on arrival"),
    FieldSpec("priority_hint", "scalar", lambda s, e: s.priority_hint, "the priority the requester asked for"),
]
FIELDS: dict[str, FieldSpec] = {f.name: f for f in _FIELDS}
CUSTOMER_PREFIX = "customer."


def field_spec(name: str) -> FieldSpec | None:
    """A known field, or ``customer.<attribute>`` for any customer attribute (plan, region, revenue...)."""
    if name in FIELDS:
        return FIELDS[name]
    if name.startswith(CUSTOMER_PREFIX) and len(name) > len(CUSTOMER_PREFIX):
        key = name[len(CUSTOMER_PREFIX) :]
        return FieldSpec(name, "any", lambda s, e: s.attributes.get(key), f"customer attribute {key!r}")
    return None


def known_field_names() -> list[str]:
    return [*sorted(FIELDS), "customer.<attribute>"]
