"""SLA policies (``rules/sla.yaml``): targets per clock, calendars, breach actions, and which policy a ticket gets.

Pure like the rest of ``rules/``. Read with ruamel's round-trip loader so every problem is reported as
``file:line:column`` (the file is small and read once per change, so the slower loader costs nothing).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rules.business_time import ALWAYS_OPEN
from rules.calendar import BusinessCalendar
from rules.compiler import Compiler
from rules.located import RulebookError, UnreadableSource, load_yaml_mapping, read_source

KINDS = ("first_response", "next_response", "resolution")
#: ``escalate`` stops below the vendor tier; ``escalate_to_vendor`` also hands a tier-3 ticket to tier 4 (an
#: outside party sees the customer's words), so that is a choice a policy makes explicitly.
BREACH_ACTIONS = ("escalate", "escalate_to_vendor", "raise_priority", "notify_lead")
ON_ESCALATION = ("restart", "continue")
#: Ticket statuses a clock may pause in (the closed ones stop clocks instead).
PAUSABLE_STATUSES = ("new", "queued", "in_progress", "waiting_on_customer")
ALWAYS = "24x7"
#: Agent actions that can count as the response a response clock waits for (``responses``). A public reply
#: always does; ``resolved`` lets a resolution answer too (for teams whose resolution mail is the answer).
RESPONSE_ACTIONS = ("replied", "resolved")
TOP_KEYS = {"version", "warning_at", "pause_statuses", "responses", "calendars", "policies", "select"}
POLICY_KEYS = {"calendar", "targets", "warning_at", "on_breach", "on_escalation", "description"}
WHEN_KEYS = {"support_tier", "customer_tier", "priority"}
_DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")


class SlaPolicyError(RulebookError):
    """Every problem found in an SLA policy file, each located."""


@dataclass(frozen=True)
class SlaPolicy:
    name: str
    calendar_name: str
    calendar: BusinessCalendar
    #: Business seconds per clock kind; a kind without a target has no clock.
    targets: Mapping[str, int]
    #: Share of the target after which the clock warns (0 < share < 1).
    warning_at: float
    on_breach: tuple[str, ...]
    #: ``restart``: a new tier gets the full target again; ``continue``: the ticket's clock runs on.
    on_escalation: str


@dataclass(frozen=True)
class Selector:
    """One ``select`` entry; ``None`` means "any"."""

    policy: str
    support_tiers: frozenset[int] | None = None
    customer_tiers: frozenset[int] | None = None
    priorities: frozenset[str] | None = None

    def matches(self, support_tier: int, customer_tier: int, priority: str) -> bool:
        return (
            (self.support_tiers is None or support_tier in self.support_tiers)
            and (self.customer_tiers is None or customer_tier in self.customer_tiers)
            and (self.priorities is None or priority in self.priorities)
        )


@dataclass(frozen=True)
class SlaPolicies:
    version: str
    policies: Mapping[str, SlaPolicy]
    selectors: tuple[Selector, ...]
    pause_statuses: frozenset[str]
    #: The actions that meet a response clock (``RESPONSE_ACTIONS``); stopped by any other, it is unanswered.
    response_actions: frozenset[str] = frozenset({"replied"})

    def select(self, *, pinned: str | None, support_tier: int, customer_tier: int, priority: str) -> SlaPolicy:
        """The policy the rulebook named (if it exists here), else the first ``select`` entry that matches.

        The loader guarantees the last entry matches everything, so there is always an answer.
        """
        if pinned is not None and pinned in self.policies:
            return self.policies[pinned]
        for selector in self.selectors:
            if selector.matches(support_tier, customer_tier, priority):
                return self.policies[selector.policy]
        raise LookupError("no SLA policy matched (the loader requires a catch-all entry)")


def parse_duration(value: Any) -> int | None:
    """``"4h"``, ``"1h30m"``, ``"90s"`` or a whole number of seconds → seconds; ``None`` if malformed."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    if not isinstance(value, str):
        return None
    m = _DURATION.match(value)
    if m is None or not any(m.groups()):
        return None
    h, mi, s = (int(g) if g else 0 for g in m.groups())
    seconds = h * 3600 + mi * 60 + s
    return seconds or None


class _SlaCompiler(Compiler):
    """Reuses the rulebook compiler's located errors, tiers, priorities and calendar parsing."""

    def share(self, node: Any, key: str) -> float | None:
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            self.fail(node, key, f"{key} is a share of the target between 0 and 1, e.g. 0.75; got {value!r}")
            return None
        return float(value)

    def calendars(self, doc: Any) -> dict[str, BusinessCalendar]:
        out: dict[str, BusinessCalendar] = {ALWAYS: ALWAYS_OPEN}
        node = doc.get("calendars") or {}
        if not isinstance(node, dict):
            self.fail(doc, "calendars", "calendars maps a name to {timezone, weekly, holidays}")
            return out
        for name in node:
            if name == ALWAYS:
                self.fail(node, name, f"{ALWAYS!r} is built in (open around the clock); choose another name")
                continue
            cal = self.calendar_at(node, name)
            if cal is not None and not any(cal.weekly):
                self.fail(node, name, f"calendar {name!r} is never open")
            elif cal is not None:
                out[str(name)] = cal
        return out

    def targets(self, node: Any) -> dict[str, int]:
        targets = node.get("targets")
        if not isinstance(targets, dict) or not targets:
            self.fail(node, "targets", f"targets maps clock kinds ({', '.join(KINDS)}) to durations like '4h'")
            return {}
        out: dict[str, int] = {}
        for kind, value in targets.items():
            seconds = parse_duration(value)
            if kind not in KINDS:
                self.fail(targets, kind, f"unknown clock {kind!r}; known: {', '.join(KINDS)}")
            elif seconds is None:
                self.fail(targets, kind, f"a target is a duration like '30m', '4h', '1h30m' or seconds; got {value!r}")
            else:
                out[str(kind)] = seconds
        return out

    def policy(self, parent: Any, name: str, calendars: dict[str, BusinessCalendar], share: float) -> SlaPolicy | None:
        node = parent[name]
        if not isinstance(node, dict):
            self.fail(parent, name, "a policy is a mapping with calendar and targets")
            return None
        before = len(self.problems)
        for k in node:
            if k not in POLICY_KEYS:
                self.fail(node, k, f"unknown field {k!r} in a policy; known: {', '.join(sorted(POLICY_KEYS))}")
        cal_name = str(node.get("calendar", ALWAYS))
        if cal_name not in calendars:
            self.fail(node, "calendar", f"unknown calendar {cal_name!r}; known: {', '.join(sorted(calendars))}")
        targets = self.targets(node)
        warn = self.share(node, "warning_at") if "warning_at" in node else share
        actions = node.get("on_breach", ["escalate"])
        if not isinstance(actions, list) or any(a not in BREACH_ACTIONS for a in actions):
            self.fail(node, "on_breach", f"on_breach is a list of: {', '.join(BREACH_ACTIONS)}")
        on_escalation = node.get("on_escalation", "restart")
        if on_escalation not in ON_ESCALATION:
            self.fail(node, "on_escalation", f"on_escalation is one of {', '.join(ON_ESCALATION)}")
        if len(self.problems) > before or warn is None:
            return None
        return SlaPolicy(name, cal_name, calendars[cal_name], targets, warn, tuple(actions), str(on_escalation))

    def selector(self, items: Any, index: int, policies: Any) -> Selector | None:
        entry = items[index]
        if not isinstance(entry, dict) or "policy" not in entry:
            self.fail(items, index, "a select entry is {when: {...}, policy: NAME}")
            return None
        if entry["policy"] not in policies:
            self.fail(entry, "policy", f"unknown policy {entry['policy']!r}")
            return None
        when = entry.get("when") or {}
        for k in when:
            if k not in WHEN_KEYS:
                self.fail(when, k, f"unknown condition {k!r}; known: {', '.join(sorted(WHEN_KEYS))}")
        return Selector(
            str(entry["policy"]),
            self.values(when, "support_tier", self.tier),
            self.values(when, "customer_tier", lambda n, k: self.customer_tier(n, k, n[k])),
            self.values(when, "priority", self.priority),
        )

    def values(self, when: Any, key: str, check: Any) -> frozenset[Any] | None:
        """``key: value`` or ``key: [values]`` checked one by one; absent means any."""
        if key not in when:
            return None
        items = when[key] if isinstance(when[key], list) else [when[key]]
        holder = items if isinstance(when[key], list) else when
        keys = range(len(items)) if isinstance(when[key], list) else [key]
        return frozenset(v for v in (check(holder, k) for k in keys) if v is not None)


def parse_sla_policies(text: str, source: str = "<sla>") -> SlaPolicies:
    """Check and build SLA policies; raises ``SlaPolicyError`` listing every problem."""
    doc = load_yaml_mapping(
        text, source, error=SlaPolicyError, expected="an SLA file is a mapping with policies and select"
    )
    c = _SlaCompiler(source)
    for k in doc:
        if k not in TOP_KEYS:
            c.fail(doc, k, f"unknown top-level field {k!r}; known: {', '.join(sorted(TOP_KEYS))}")
    share = c.share(doc, "warning_at") if "warning_at" in doc else 0.75
    pause = doc.get("pause_statuses", ["waiting_on_customer"])
    if not isinstance(pause, list) or any(s not in PAUSABLE_STATUSES for s in pause):
        c.fail(doc, "pause_statuses", f"pause_statuses is a list of: {', '.join(PAUSABLE_STATUSES)}")
    responses = doc.get("responses", ["replied"])
    if not isinstance(responses, list) or any(a not in RESPONSE_ACTIONS for a in responses):
        c.fail(doc, "responses", f"responses is a list of: {', '.join(RESPONSE_ACTIONS)}")
        responses = []
    calendars = c.calendars(doc)
    node = doc.get("policies")
    policies: dict[str, SlaPolicy] = {}
    if not isinstance(node, dict) or not node:
        c.fail(doc, "policies", "policies maps a policy name to {calendar, targets, ...}")
    else:
        for name in node:
            policy = c.policy(node, str(name), calendars, share or 0.75)
            if policy is not None:
                policies[str(name)] = policy
    selectors = _selectors(c, doc, policies)
    if c.problems:
        raise SlaPolicyError(c.problems)
    version = hashlib.sha256(text.encode()).hexdigest()[:16]
    return SlaPolicies(version, policies, selectors, frozenset(pause), frozenset({"replied", *responses}))


def _selectors(c: _SlaCompiler, doc: Any, policies: Mapping[str, SlaPolicy]) -> tuple[Selector, ...]:
    items = doc.get("select")
    if not isinstance(items, list) or not items:
        c.fail(doc, "select", "select is a list of {when, policy}; the last one without 'when' is the default")
        return ()
    names = set(doc["policies"]) if isinstance(doc.get("policies"), dict) else set(policies)
    found = [c.selector(items, i, names) for i in range(len(items))]
    last = items[-1]
    if isinstance(last, dict) and last.get("when"):
        c.fail(items, len(items) - 1, "the last select entry must have no 'when': it is the default policy")
    return tuple(s for s in found if s is not None)


def load_sla_policies(path: Path) -> SlaPolicies:
    try:
        text = read_source(path, "SLA policies")
    except UnreadableSource as exc:
        raise SlaPolicyError([exc.problem]) from exc
    return parse_sla_policies(text, str(path))
