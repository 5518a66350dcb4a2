"""The full rulebook language: every field kind, regex on RE2, actions, matrix, calendars, services."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rules import AttachmentInfo, RulebookError, Snapshot, parse_rulebook


def snap(**kw: object) -> Snapshot:
    base: dict[str, object] = {"subject": "", "body": "", "sender": "a@b.example", "customer_tier": 2}
    base.update(kw)
    return Snapshot(**base)  # type: ignore[arg-type]


def matches(when: str, snapshot: Snapshot, extra: str = "") -> bool:
    book = f"{extra}rules:\n  - id: r\n    when: {when}\n    then: {{support_tier: 3}}\n"
    return parse_rulebook(book).evaluate(snapshot).support_tier == 3


LOG = AttachmentInfo("app.log", "text/x-log")
PNG = AttachmentInfo("shot.png", "image/png")
SERVICES = "services:\n  checkout: {criticality: 1}\n  reports: 3\n"
HOURS = (
    "business_hours:\n  timezone: Europe/Berlin\n  weekly: {mon: ['09:00-17:00'], sat: []}\n"
    "  holidays: {country: DE, subdivision: BE, closed: ['2026-11-30']}\n"
)
CASES = [
    # regex (RE2) on text and scalar fields
    ("{field: subject, regex: 'ORD-\\d{6}'}", snap(subject="about ORD-123456"), "", True),
    ("{field: subject, regex: 'ORD-\\d{6}'}", snap(subject="about ORD-12"), "", False),
    ("{field: subject, regex: '(?i)^re:'}", snap(subject="RE: hi"), "", True),
    ("{field: sender, regex: '@(eu|us)\\.globex\\.example$'}", snap(sender="x@eu.globex.example"), "", True),
    # recipient, channel, source
    ("{field: recipient, equals: billing@support.example}", snap(recipient="Billing@Support.example"), "", True),
    ("{field: recipient, exists: true}", snap(), "", False),
    ("{field: source, in: [webhook:grafana]}", snap(source="webhook:grafana"), "", True),
    # customer attributes, dotted
    ("{field: customer.plan, equals: enterprise}", snap(attributes={"plan": "Enterprise"}), "", True),
    ("{field: customer.revenue, gte: 100000}", snap(attributes={"revenue": 250000}), "", True),
    ("{field: customer.revenue, gte: 100000}", snap(attributes={"revenue": "lots"}), "", False),
    ("{field: customer.region, in: [emea, apac]}", snap(attributes={"region": "APAC"}), "", True),
    ("{field: customer.region, exists: false}", snap(), "", True),
    # product, component, tags (list: any element)
    ("{field: product, equals: mobile-app}", snap(product="mobile-app"), "", True),
    ("{field: component, in: [sync, offline]}", snap(component="sync"), "", True),
    ("{field: tags, equals: vip}", snap(tags=("beta", "vip")), "", True),
    ("{field: tags, in: [vip, press]}", snap(tags=("beta",)), "", False),
    ("{field: tags, not_in: [spam]}", snap(tags=("beta",)), "", True),
    # attachments
    ("{field: attachments.present, equals: true}", snap(attachments=(PNG,)), "", True),
    ("{field: attachments.present, equals: true}", snap(), "", False),
    ("{field: attachments.types, in: [text/x-log]}", snap(attachments=(PNG, LOG)), "", True),
    ("{field: attachments.count, gt: 1}", snap(attachments=(PNG, LOG)), "", True),
    # counts
    ("{field: message_count, gte: 3}", snap(message_count=3), "", True),
    ("{field: reopen_count, lt: 1}", snap(reopen_count=0), "", True),
    # services and their criticality
    ("{field: service.criticality, equals: 1}", snap(service="checkout"), SERVICES, True),
    ("{field: service.criticality, lte: 2}", snap(service="reports"), SERVICES, False),
    ("{field: service.criticality, exists: true}", snap(service="unknown"), SERVICES, False),
    ("{field: service, equals: checkout}", snap(service="checkout"), SERVICES, True),
    # business hours: Monday 10:00 Berlin open, 08:00 closed, Saturday closed, a custom closed Monday
    ("{field: business_hours, equals: true}", snap(received_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC)), HOURS, True),
    ("{field: business_hours, equals: true}", snap(received_at=datetime(2026, 11, 23, 7, 0, tzinfo=UTC)), HOURS, False),
    (
        "{field: business_hours, equals: false}",
        snap(received_at=datetime(2026, 11, 28, 10, 0, tzinfo=UTC)),
        HOURS,
        True,
    ),
    (
        "{field: business_hours, equals: true}",
        snap(received_at=datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
        HOURS,
        False,
    ),
    ("{field: business_hours, equals: true}", snap(received_at=datetime(2026, 12, 28, 10, 0, tzinfo=UTC)), HOURS, True),
    ("{field: business_hours, exists: true}", snap(), HOURS, False),  # unknown arrival time
    # customer tiers by name
    ("{field: customer_tier, in: [strategic partner]}", snap(customer_tier=1), "", True),
    ("{field: customer_tier, equals: core}", snap(customer_tier=2), "", True),
    (
        "{field: customer_tier, equals: gold}",
        snap(customer_tier=1),
        "customer_tiers: [gold, silver, bronze, tin]\n",
        True,
    ),
]


@pytest.mark.parametrize(("when", "snapshot", "extra", "expected"), CASES)
def test_fields_and_operators(when: str, snapshot: Snapshot, extra: str, expected: bool) -> None:
    assert matches(when, snapshot, extra) is expected


def test_christmas_in_berlin_is_a_holiday() -> None:
    book = parse_rulebook(
        "business_hours:\n  timezone: Europe/Berlin\n  weekly: {fri: ['00:00-24:00']}\n"
        "  holidays: {country: DE}\nrules: []\n"
    )
    assert book.env.calendar is not None
    assert not book.env.calendar.is_open(datetime(2026, 12, 25, 12, 0, tzinfo=UTC))  # a Friday, Christmas
    assert book.env.calendar.is_open(datetime(2026, 12, 18, 12, 0, tzinfo=UTC))


ACTIONS_BOOK = """
severities: [critical, major, minor, question]
rules:
  - id: a
    when: {field: text, keywords_any: [alpha]}
    then: {severity: major, sla_policy: gold, queue_group: g1, note: first, tags: [x]}
  - id: b
    when: {field: text, keywords_any: [beta]}
    then: {severity: minor, sla_policy: silver, queue_group: g2, note: second, tags: [x, y]}
  - id: c
    when: {field: text, keywords_any: [gamma]}
    then: {severity: question, override: true}
  - id: skip
    when: {field: text, keywords_any: [skip]}
    then: {support_tier: 0, override: true, skip_self_service: [1, core]}
"""


def test_actions_accumulate_as_documented() -> None:
    book = parse_rulebook(ACTIONS_BOOK)
    d = book.evaluate(snap(subject="alpha beta"))
    assert d.severity == "major"  # a later, milder severity does not lower it
    assert (d.sla_policy, d.queue_group) == ("silver", "g2")  # the last matching rule names them
    assert d.notes == ("first", "second")
    assert d.tags == ("x", "y")
    assert book.evaluate(snap(subject="alpha gamma")).severity == "question"  # override lowers


@pytest.mark.parametrize(("customer_tier", "tier"), [(1, 1), (2, 1), (3, 0), (4, 0)])
def test_skip_self_service_for_chosen_customer_tiers(customer_tier: int, tier: int) -> None:
    d = parse_rulebook(ACTIONS_BOOK).evaluate(snap(subject="skip", customer_tier=customer_tier))
    assert d.support_tier == tier
    assert bool(d.adjustments) is (tier == 1)


MATRIX_BOOK = """
defaults: {support_tier: 1, severity: minor}
matrix:
  strategic partner:
    critical: {min_tier: 3, min_priority: urgent}
  money-losing:
    question: {max_tier: 0}
  2:
    minor: {min_priority: high}
rules:
  - {id: down, when: {field: text, keywords_any: [down]}, then: {severity: critical}}
  - {id: howto, when: {field: text, keywords_any: [how]}, then: {severity: question, override: true}}
  - {id: deep, when: {field: text, keywords_any: [deep]}, then: {support_tier: 2}}
"""


@pytest.mark.parametrize(
    ("subject", "ctier", "tier", "priority"),
    [
        ("site down", 1, 3, "urgent"),  # strategic outage never waits below engineering
        ("site down", 3, 1, "normal"),  # no cell: the rules' result stands
        ("how to export", 4, 0, "normal"),  # money-losing how-to starts in self-service
        ("how to export deep", 4, 0, "normal"),  # capped even when a rule raised it
        ("how to export", 1, 1, "normal"),
        ("anything", 2, 1, "high"),  # a row by number
    ],
)
def test_customer_tier_matrix(subject: str, ctier: int, tier: int, priority: str) -> None:
    d = parse_rulebook(MATRIX_BOOK).evaluate(snap(subject=subject, customer_tier=ctier))
    assert (d.support_tier, d.priority) == (tier, priority)


def test_matrix_adjustments_are_explained() -> None:
    d = parse_rulebook(MATRIX_BOOK).evaluate(snap(subject="site down", customer_tier=1))
    assert d.adjustments == (
        "matrix[strategic partner, critical]: tier 1 raised to 3",
        "matrix[strategic partner, critical]: priority normal raised to urgent",
    )


def test_regex_explanation_shows_the_matched_text() -> None:
    book = parse_rulebook(
        "rules:\n  - id: r\n    when: {field: subject, regex: 'ORD-\\d+'}\n    then: {tags: [order]}\n"
    )
    (match,) = book.evaluate(snap(subject="status of ORD-991 please")).matched
    assert match.saw == {"subject matched /ORD-\\d+/": "ORD-991"}


LANGUAGE_ERRORS = [
    ("rules:\n  - id: r\n    when: {field: subject, regex: '(unclosed'}\n    then: {tags: [x]}\n", "3:28: bad regex"),
    ("rules:\n  - id: r\n    when: {field: subject, regex: '(?<=x)y'}\n    then: {tags: [x]}\n", "3:28: bad regex"),
    ("rules:\n  - id: r\n    when: {field: tags, regex: 'x'}\n    then: {tags: [x]}\n", "regex works on text fields"),
    ("rules:\n  - id: r\n    when: {field: text, gte: 3}\n    then: {tags: [x]}\n", "gte compares numbers"),
    (
        "rules:\n  - id: r\n    when: {field: customer_tier, in: [platinum]}\n    then: {tags: [x]}\n",
        "customer tier must be",
    ),
    (
        "rules:\n  - id: r\n    when: {field: text, exists: true}\n    then: {severity: apocalyptic}\n",
        "severity must be one of",
    ),
    (
        "rules:\n  - id: r\n    when: {field: text, exists: true}\n    then: {skip_self_service: [9]}\n",
        "customer tier must be",
    ),
    ("business_hours: {timezone: Mars/Olympus, weekly: {}}\nrules: []\n", "unknown time zone 'Mars/Olympus'"),
    ("business_hours: {timezone: UTC, weekly: {monday: ['09:00-17:00']}}\nrules: []\n", "unknown day 'monday'"),
    ("business_hours: {timezone: UTC, weekly: {mon: ['17:00-09:00']}}\nrules: []\n", "ends before it starts"),
    ("business_hours: {timezone: UTC, weekly: {}, holidays: {country: XX}}\nrules: []\n", "holidays:"),
    ("services: {checkout: {criticality: 0}}\nrules: []\n", "criticality of service 'checkout'"),
    ("matrix: {gold: {critical: {min_tier: 2}}}\nrules: []\n", "1:10: customer tier must be"),
    ("matrix: {1: {dire: {min_tier: 2}}}\nrules: []\n", "unknown severity 'dire'"),
    ("matrix: {1: {critical: {min_tier: 3, max_tier: 1}}}\nrules: []\n", "min_tier 3 is above max_tier 1"),
    ("matrix: {1: {critical: {floor: 3}}}\nrules: []\n", "a matrix cell takes"),
    ("customer_tiers: [a, b, c]\nrules: []\n", "customer_tiers takes exactly 4 distinct names"),
]


@pytest.mark.parametrize(("text", "message"), LANGUAGE_ERRORS)
def test_language_mistakes_are_located(text: str, message: str) -> None:
    with pytest.raises(RulebookError) as info:
        parse_rulebook(text, "book.yaml")
    assert message in str(info.value)
    assert all(p.line > 0 for p in info.value.problems)


def test_nested_attribute_values_never_crash_the_index() -> None:
    book = parse_rulebook(
        "rules:\n  - {id: p, when: {field: customer.plan, equals: enterprise}, then: {support_tier: 2}}\n"
        "  - {id: q, when: {field: customer.plan, in: [a, b]}, then: {support_tier: 3}}\n"
    )
    for plan in ({"name": "enterprise"}, ["enterprise"], None):
        s = snap(attributes={"plan": plan})
        assert book.evaluate(s) == book.evaluate(s, use_index=False)


def test_unknown_defaults_are_mistakes_not_silence() -> None:
    with pytest.raises(RulebookError) as info:
        parse_rulebook("defaults: {tier: 3}\nrules: []\n", "book.yaml")
    assert "book.yaml:1:12: unknown default 'tier'" in str(info.value)
