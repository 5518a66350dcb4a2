"""SLA policy files: located errors, durations, and which policy a ticket gets (table-tested)."""

from __future__ import annotations

import pytest

from router.settings import SLA_POLICIES_DEFAULT
from rules.business_time import is_always_open
from rules.sla import SlaPolicyError, load_sla_policies, parse_duration, parse_sla_policies

POLICIES = """
calendars:
  office:
    timezone: Europe/Berlin
    weekly: {mon: ["09:00-17:00"], tue: ["09:00-17:00"]}
    holidays: {country: DE, closed: [2026-12-24]}
policies:
  fast: {calendar: 24x7, targets: {first_response: 15m, resolution: 4h}, on_breach: [escalate]}
  vip: {calendar: office, targets: {first_response: 1h, resolution: 1h30m}, warning_at: 0.5}
  slow: {calendar: office, targets: {resolution: 40h}, on_escalation: continue}
select:
  - when: {priority: urgent}
    policy: fast
  - when: {customer_tier: [strategic partner, 2], support_tier: [2, 3]}
    policy: vip
  - policy: slow
"""


@pytest.mark.parametrize(
    ("pinned", "support_tier", "customer_tier", "priority", "expected"),
    [
        (None, 1, 3, "urgent", "fast"),
        (None, 2, 1, "normal", "vip"),
        (None, 3, 2, "high", "vip"),
        (None, 1, 1, "normal", "slow"),  # tier 1 is not in vip's support tiers
        (None, 2, 3, "normal", "slow"),
        ("vip", 0, 4, "low", "vip"),  # the rulebook's choice wins
        ("unknown-here", 1, 3, "urgent", "fast"),  # a name this file lacks falls back to selection
    ],
)
def test_policy_selection(
    pinned: str | None, support_tier: int, customer_tier: int, priority: str, expected: str
) -> None:
    policies = parse_sla_policies(POLICIES)
    chosen = policies.select(pinned=pinned, support_tier=support_tier, customer_tier=customer_tier, priority=priority)
    assert chosen.name == expected


def test_policies_carry_targets_calendars_and_defaults() -> None:
    policies = parse_sla_policies(POLICIES)
    fast, vip, slow = (policies.policies[n] for n in ("fast", "vip", "slow"))
    assert fast.targets == {"first_response": 900, "resolution": 14400} and is_always_open(fast.calendar)
    assert vip.targets["resolution"] == 5400 and vip.warning_at == 0.5 and vip.calendar.timezone == "Europe/Berlin"
    assert slow.warning_at == 0.75 and slow.on_escalation == "continue" and slow.on_breach == ("escalate",)
    assert policies.pause_statuses == frozenset({"waiting_on_customer"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("policies: {a: {targets: {resolution: 4x}}}\nselect: [{policy: a}]", "1:26: a target is a duration"),
        ("policies: {a: {calendar: nope, targets: {resolution: 4h}}}\nselect: [{policy: a}]", "1:16: unknown calendar"),
        ("policies: {a: {targets: {reply: 4h}}}\nselect: [{policy: a}]", "1:26: unknown clock 'reply'"),
        ("policies: {a: {targets: {resolution: 4h}}}\nselect: [{policy: b}]", "2:11: unknown policy 'b'"),
        (
            "policies: {a: {targets: {resolution: 4h}}}\nselect:\n  - {when: {priority: high}, policy: a}",
            "3:5: the last select entry must have no 'when'",
        ),
        ("policies: {a: {targets: {resolution: 4h}, warning_at: 2}}\nselect: [{policy: a}]", "1:43: warning_at"),
        (
            "policies: {a: {targets: {resolution: 4h}}}\nselect: [{when: {priority: asap}, policy: a}, {policy: a}]",
            "2:18: priority must be one of",
        ),
        (
            "calendars: {c: {timezone: Mars/Base, weekly: {mon: ['09:00-17:00']}}}\n"
            "policies: {a: {targets: {resolution: 4h}}}\nselect: [{policy: a}]",
            "1:17: unknown time zone",
        ),
        ("policies: [\n", "not valid YAML"),
    ],
)
def test_mistakes_are_reported_with_file_line_and_column(text: str, expected: str) -> None:
    with pytest.raises(SlaPolicyError) as caught:
        parse_sla_policies(text, "sla.yaml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("sla.yaml:")


@pytest.mark.parametrize(
    ("value", "seconds"), [("4h", 14400), ("1h30m", 5400), ("90s", 90), (600, 600), ("0m", None), ("4d", None)]
)
def test_durations(value: object, seconds: int | None) -> None:
    assert parse_duration(value) == seconds


def test_the_shipped_policies_cover_the_rulebook_names() -> None:
    policies = load_sla_policies(SLA_POLICIES_DEFAULT)
    # rules/default.yaml names these in `sla_policy`
    assert {"incident", "on-call"} <= set(policies.policies)
    assert policies.select(pinned=None, support_tier=1, customer_tier=3, priority="normal").name == "standard"
