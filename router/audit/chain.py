"""The per-ticket chain: how an event is sealed, and how a chain is checked. Pure: no database here.

An event is sealed with HMAC-SHA256 under a key kept outside the database (``keys``) over a canonical JSON
of its fields, the previous event's seal and the ticket's state after the event (``STATE_FIELDS``). The
ticket row keeps the head (last sequence number and seal). So verification catches an edited, reordered
or removed event, a cut tail, an event appended past the head, a ticket changed without an event (its row
differs from its head event's state), and a chain recomputed without the key. Events written before the
keyed chain (``key_id`` empty) were sealed with plain SHA-256: they verify as legacy, only as a prefix of
a chain whose head is keyed (the migration ``keyed_audit_chain`` sealed every chain at the upgrade).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from router.audit.keys import ChainKey, Keyring
from router.models.tickets import Ticket

GENESIS = "0" * 64
#: The ticket's fields each event records as they are after it; the row must equal its head event's.
STATE_FIELDS = ("status", "support_tier", "priority", "assignee_id", "customer_tier")


class EventFields(Protocol):
    """What sealing reads of an event: an ``AuditEvent`` or anything shaped like one."""

    ticket_id: int
    seq: int
    at: datetime
    actor: str
    action: str
    from_tier: int | None
    to_tier: int | None
    reason: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str
    key_id: str | None
    state: dict[str, Any] | None


def state_of(ticket: Ticket | Mapping[str, Any]) -> dict[str, Any]:
    """The ticket's state as an event records it (from the ORM object or a row about to be written)."""
    get = ticket.get if isinstance(ticket, Mapping) else lambda name: getattr(ticket, name)
    status, priority = get("status"), get("priority")
    return {
        "status": None if status is None else str(status),
        "support_tier": get("support_tier"),
        "priority": None if priority is None else str(priority),
        "assignee_id": get("assignee_id"),
        "customer_tier": get("customer_tier"),
    }


def stored_form(data: dict[str, Any] | None) -> dict[str, Any]:
    """``data`` as the database gives it back (a JSON round trip), which is what the seal must cover."""
    payload: dict[str, Any] = json.loads(json.dumps(data or {}, default=str))
    return payload


def _fields(
    ticket_id: int,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    from_tier: int | None,
    to_tier: int | None,
    reason: str | None,
    data: dict[str, Any],
    prev_hash: str,
) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "from_tier": from_tier,
        "to_tier": to_tier,
        "reason": reason,
        "data": data,
        "prev_hash": prev_hash,
    }


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal(key: ChainKey, fields: dict[str, Any], state: dict[str, Any]) -> str:
    """The keyed seal (HMAC-SHA256, hex) of an event's fields and the ticket's state after it."""
    return key.mac(_canonical({**fields, "state": state, "key_id": key.key_id, "v": 2}))


def legacy_hash(fields: dict[str, Any]) -> str:
    """The unkeyed SHA-256 events were hashed with before the chain was keyed (kept to verify them)."""
    return hashlib.sha256(_canonical(fields)).hexdigest()


def fields_of(event: EventFields) -> dict[str, Any]:
    return _fields(
        event.ticket_id,
        event.seq,
        event.at,
        event.actor,
        event.action,
        event.from_tier,
        event.to_tier,
        event.reason,
        event.data,
        event.prev_hash,
    )


@dataclass(frozen=True)
class Entry:
    """One event for ``chain_rows``, with the ticket's state after it."""

    actor: str
    action: str
    data: dict[str, Any]
    state: dict[str, Any]
    from_tier: int | None = None
    to_tier: int | None = None
    reason: str | None = None


def chain_rows(
    key: ChainKey, ticket_id: int, entries: list[Entry], at: datetime, *, after_seq: int = 0, after_hash: str = ""
) -> list[dict[str, Any]]:
    """The rows of the next events of a ticket's chain (its first when ``after_seq`` is 0), sealed and linked
    as ``service.append`` links them, for the batched paths to insert many chains in one statement. The
    ticket row's new head is the last row's ``seq`` and ``hash``."""
    rows: list[dict[str, Any]] = []
    prev = after_hash or GENESIS
    for seq, entry in enumerate(entries, start=after_seq + 1):
        data = stored_form(entry.data)
        fields = _fields(ticket_id, seq, at, entry.actor, entry.action, entry.from_tier, entry.to_tier, entry.reason,
                         data, prev)  # fmt: skip
        row = {**fields, "at": at, "key_id": key.key_id, "state": entry.state}
        row["hash"] = prev = seal(key, fields, entry.state)
        rows.append(row)
    return rows


@dataclass(frozen=True)
class ChainReport:
    ticket_id: int
    valid: bool
    events: int
    broken_at_seq: int | None = None
    problem: str | None = None
    #: Events from before the chain was keyed (plain SHA-256), accepted as the chain's first events.
    legacy_events: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "valid": self.valid,
            "events": self.events,
            "broken_at_seq": self.broken_at_seq,
            "problem": self.problem,
            "legacy_events": self.legacy_events,
        }


#: A checkpoint's word on a ticket: the sequence number and seal its head had then.
Pin = tuple[int, str]


def check_chain(ticket: Ticket, chain: list[Any], keyring: Keyring, pin: Pin | None = None) -> ChainReport:
    """Check every seal and link, the head the ticket row remembers, and the row against the head's state;
    with ``pin`` (from a checkpoint) also that the event it names is still the one it saw."""
    assert ticket.id is not None
    tid, count = ticket.id, len(chain)

    def broken(seq: int | None, problem: str, legacy: int = 0) -> ChainReport:
        return ChainReport(tid, False, count, seq, problem, legacy)

    prev, legacy = GENESIS, 0
    for expected_seq, event in enumerate(chain, start=1):
        if event.seq != expected_seq:
            return broken(expected_seq, f"event {expected_seq} is missing")
        if event.prev_hash != prev:
            return broken(event.seq, "link to the previous event is broken (an event was removed, reordered or edited)")
        if event.key_id is None:
            if legacy != expected_seq - 1:
                return broken(event.seq, "an unkeyed event after keyed ones (forged without the key, or downgraded)")
            legacy += 1
            expected = legacy_hash(fields_of(event))
        else:
            key = keyring.get(event.key_id)
            if key is None:
                return broken(event.seq, f"sealed with key {event.key_id}, which this installation does not hold")
            expected = seal(key, fields_of(event), event.state or {})
        if not hmac.compare_digest(expected, event.hash):
            return broken(event.seq, "event content does not match its seal (edited, or sealed without the key)")
        prev = event.hash
    head_seq = ticket.audit_seq
    if count < head_seq:
        return broken(count + 1, f"chain ends at event {count}, before the ticket's recorded head {head_seq}", legacy)
    if count > head_seq:
        return broken(head_seq + 1, f"event {head_seq + 1} is beyond the ticket's recorded head {head_seq}", legacy)
    if (chain[-1].hash if chain else GENESIS) != (ticket.audit_head or GENESIS):
        return broken(head_seq, "the ticket's recorded head does not match its last event", legacy)
    if chain:
        head = chain[-1]
        if head.key_id is None:
            problem = "the head event is unkeyed: every chain has been sealed with the key since the upgrade"
            return broken(head.seq, problem, legacy)
        row, recorded = state_of(ticket), head.state or {}
        changed = [
            f"{k} {row[k]!r} (event says {recorded.get(k)!r})" for k in STATE_FIELDS if row[k] != recorded.get(k)
        ]
        if changed:
            return broken(head.seq, "the ticket was changed without an audit event: " + ", ".join(changed), legacy)
    if pin is not None:
        seq, sealed = pin
        if seq > count:
            return broken(count + 1, f"a checkpoint saw event {seq}; the chain now ends at {count}", legacy)
        if seq and chain[seq - 1].hash != sealed:
            return broken(seq, f"event {seq} is not the one a checkpoint saw: the chain was rewritten", legacy)
    return ChainReport(tid, True, count, legacy_events=legacy)
