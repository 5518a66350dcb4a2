"""The rules engine is pure: table-driven operator and order tests, default rulebook cases, properties."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import PRIORITIES, AttachmentInfo, Snapshot, load_rulebook, parse_rulebook

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = load_rulebook(ROOT / "rules" / "default.yaml")


def snap(subject: str = "", body: str = "", sender: str = "a@b.example", tier: int = 2, **kw: object) -> Snapshot:
    return Snapshot(subject=subject, body=body, sender=sender, customer_tier=tier, **kw)  # type: ignore[arg-type]


def one_rule(when: str, then: str = "{support_tier: 3}") -> str:
    return f"rules:\n  - id: r\n    when: {when}\n    then: {then}\n"


OPERATOR_CASES = [
    ("{field: text, keywords_any: [outage, down]}", snap("Site DOWN"), True),
    ("{field: text, keywords_any: [down]}", snap("downtime report"), False),  # whole words only
    ("{field: text, keywords_any: [is down]}", snap("the site is   down!"), True),  # phrases ignore spacing
    ("{field: text, keywords_any: [straße]}", snap("Problem in der STRASSE"), True),  # Unicode case folding
    ("{field: text, keywords_all: [invoice, refund]}", snap("invoice", "please refund"), True),
    ("{field: text, keywords_all: [invoice, refund]}", snap("invoice"), False),
    ("{field: subject, keywords_any: [invoice]}", snap("hello", "invoice"), False),
    ("{field: body, keywords_any: [invoice]}", snap("hello", "invoice"), True),
    ("{field: sender_domain, in: [Globex.example]}", snap(sender="X@globex.EXAMPLE"), True),
    ("{field: sender_domain, not_in: [globex.example]}", snap(sender="x@initech.example"), True),
    ("{field: sender, equals: boss@globex.example}", snap(sender="Boss@Globex.example"), True),
    ("{field: customer_tier, equals: 1}", snap(tier=1), True),
    ("{field: customer_tier, in: [3, 4]}", snap(tier=2), False),
    ("{field: customer_tier, gte: 3}", snap(tier=3), True),
    ("{field: customer_tier, lte: 1}", snap(tier=2), False),
    ("{field: customer_tier, gt: 1}", snap(tier=2), True),
    ("{field: customer_tier, lt: 2}", snap(tier=1), True),
    ("{field: priority_hint, exists: true}", snap(priority_hint="high"), True),
    ("{field: priority_hint, exists: false}", snap(), True),
    ("{field: channel, equals: email}", snap(channel="email"), True),
    ("{all: [{field: customer_tier, equals: 1}, {field: text, keywords_any: [bug]}]}", snap("bug", tier=1), True),
    ("{all: [{field: customer_tier, equals: 1}, {field: text, keywords_any: [bug]}]}", snap("bug", tier=2), False),
    ("{any: [{field: customer_tier, equals: 1}, {field: text, keywords_any: [bug]}]}", snap("bug", tier=2), True),
    ("{not: {field: text, keywords_any: [bug]}}", snap("feature"), True),
    ("{not: {any: [{field: customer_tier, equals: 1}, {field: customer_tier, equals: 2}]}}", snap(tier=2), False),
]


@pytest.mark.parametrize(("when", "snapshot", "matches"), OPERATOR_CASES)
def test_operators(when: str, snapshot: Snapshot, matches: bool) -> None:
    decision = parse_rulebook(one_rule(when)).evaluate(snapshot)
    assert (decision.support_tier == 3) is matches
    assert bool(decision.matched) is matches


def test_explanation_records_the_values_seen() -> None:
    rb = parse_rulebook(
        one_rule("{all: [{field: text, keywords_any: [outage, down]}, {field: customer_tier, in: [1]}]}")
    )
    (match,) = rb.evaluate(snap("Outage", "everything is down", tier=1)).matched
    assert match.saw == {"text keywords": ["outage", "down"], "customer_tier": 1}
    assert match.actions == {"support_tier": 3}


ORDER_BOOK = """
defaults: {support_tier: 1, priority: normal}
rules:
  - {id: up, when: {field: text, keywords_any: [bug]}, then: {support_tier: 2, priority: high, tags: [a]}}
  - {id: down-ignored, when: {field: text, keywords_any: [bug]}, then: {support_tier: 0, priority: low, tags: [b]}}
  - {id: down-override, when: {field: text, keywords_any: [howto]},
     then: {support_tier: 0, priority: low, override: true}}
  - {id: halt, when: {field: text, keywords_any: [stop]}, then: {support_tier: 3, stop: true}}
  - {id: after-stop, when: {field: text, keywords_any: [stop]}, then: {support_tier: 4}}
"""


@pytest.mark.parametrize(
    ("text", "tier", "priority", "tags", "rules"),
    [
        ("bug", 2, "high", ("a", "b"), ["up", "down-ignored"]),
        ("bug howto", 0, "low", ("a", "b"), ["up", "down-ignored", "down-override"]),
        ("stop bug", 3, "high", ("a", "b"), ["up", "down-ignored", "halt"]),
        ("nothing", 1, "normal", (), []),
    ],
)
def test_order_raise_override_and_stop(
    text: str, tier: int, priority: str, tags: tuple[str, ...], rules: list[str]
) -> None:
    decision = parse_rulebook(ORDER_BOOK).evaluate(snap(text))
    assert (decision.support_tier, decision.priority, decision.tags) == (tier, priority, tags)
    assert [m.rule_id for m in decision.matched] == rules


def test_the_shipped_cases_pass_on_the_default_rulebook() -> None:
    from rules.cases import load_cases, run_cases

    results = run_cases(DEFAULT, load_cases(ROOT / "rules" / "default.cases.yaml"))
    assert len(results) >= 15
    assert [(r.case.name, r.diff) for r in results if not r.passed] == []


ERROR_CASES = [
    (one_rule("{field: nope, in: [1]}"), "3:12: unknown field 'nope'"),
    (one_rule("{field: text, regexx: x}"), "3:25: unknown operator 'regexx'"),
    (
        one_rule("{field: text, keywords_any: [x]}", "{support_tier: 7}"),
        "4:12: support tier must be a whole number from 0 to 4",
    ),
    (one_rule("{field: text, keywords_any: [x]}", "{priority: hi}"), "4:12: priority must be one of"),
    (one_rule("{field: text, keywords_any: [x]}", "{colour: red}"), "4:12: unknown action 'colour'"),
    (one_rule("{field: customer_tier, keywords_any: [x]}"), "keywords_any works on text fields"),
    (one_rule("{field: customer_tier, in: 3}"), "in takes a non-empty list"),
    (one_rule("{all: []}"), "'all' takes a non-empty list"),
    (one_rule("{field: text, keywords_any: ['!!!']}"), "at least one letter or digit"),
    (
        "rules:\n  - id: a\n    when: {field: text, exists: true}\n    then: {stop: true}\n  - id: a\n"
        "    when: {field: text, exists: true}\n    then: {stop: true}\n",
        "5:5: duplicate rule id 'a' (first at line 2)",
    ),
    ("rules:\n  - id: a\n", "2:5: rule is missing when, then"),
    ("rules: [\n", "not valid YAML"),
    ("colour: blue\nrules: []\n", "1:1: unknown top-level field 'colour'"),
]


@pytest.mark.parametrize(("text", "message"), ERROR_CASES)
def test_mistakes_are_located(text: str, message: str) -> None:
    from rules import RulebookError

    with pytest.raises(RulebookError) as info:
        parse_rulebook(text, "book.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("book.yaml:")


def test_every_mistake_is_listed_not_just_the_first() -> None:
    from rules import RulebookError

    text = one_rule("{field: nope, in: [1]}", "{support_tier: 9, priority: meh}")
    with pytest.raises(RulebookError) as info:
        parse_rulebook(text)
    assert len(info.value.problems) == 3


snapshots = st.builds(
    Snapshot,
    subject=st.text(max_size=80),
    body=st.text(max_size=300),
    sender=st.emails(),
    customer_tier=st.integers(1, 4),
    channel=st.sampled_from(["api", "email", "web", "monitoring"]),
    priority_hint=st.one_of(st.none(), st.sampled_from(PRIORITIES)),
    attributes=st.dictionaries(
        st.sampled_from(["plan", "region", "revenue"]), st.one_of(st.text(max_size=10), st.integers())
    ),
    service=st.one_of(st.none(), st.sampled_from(["checkout", "api", "exports", "nope"])),
    tags=st.lists(st.text(max_size=8), max_size=3).map(tuple),
    attachments=st.lists(
        st.builds(
            AttachmentInfo, st.text(max_size=10), st.sampled_from(["text/x-log", "image/png", "application/zip"])
        ),
        max_size=3,
    ).map(tuple),
    reopen_count=st.integers(0, 5),
    received_at=st.one_of(st.none(), st.datetimes(timezones=st.timezones(), allow_imaginary=False)),
)


@given(snapshots)
def test_evaluation_is_total_deterministic_and_in_range(snapshot: Snapshot) -> None:
    first = DEFAULT.evaluate(snapshot)
    assert first == DEFAULT.evaluate(snapshot)
    assert 0 <= first.support_tier <= 4
    assert first.priority in PRIORITIES


NEVER = "{field: text, keywords_all: [zzqxj, qqzxv]}"


@given(snapshots)
def test_a_rule_that_matches_nothing_changes_nothing(snapshot: Snapshot) -> None:
    from hypothesis import assume

    assume("zzqxj" not in (snapshot.subject + snapshot.body).casefold())
    text = Path(__file__).resolve().parents[2].joinpath("rules", "default.yaml").read_text()
    extra = text + f"\n  - id: never\n    when: {NEVER}\n    then: {{support_tier: 0, override: true, stop: true}}\n"
    a, b = DEFAULT.evaluate(snapshot), parse_rulebook(extra).evaluate(snapshot)
    assert (a.support_tier, a.priority, a.tags, a.matched) == (b.support_tier, b.priority, b.tags, b.matched)


def _generated_book(seed: int) -> str:
    import random

    from bench.rules import rule_yaml

    rng = random.Random(seed)
    return "rules:\n" + "".join(rule_yaml(i, rng) for i in range(300))


GENERATED_TEXT = [_generated_book(seed) for seed in (1, 2)]
GENERATED = [parse_rulebook(text) for text in GENERATED_TEXT]
#: Words the generated rules look for, so drawn tickets do match some of them.
RULE_WORDS = sorted({w for text in GENERATED_TEXT for w in __import__("re").findall(r"w\d{5}", text)})


@given(
    st.sampled_from(GENERATED),
    st.lists(st.sampled_from(RULE_WORDS), max_size=40),
    st.sampled_from([f"plan{n}" for n in range(200)]),
    st.integers(0, 299_999),
    st.integers(1, 4),
    st.sampled_from([f"d{n}.example" for n in range(2000)]),
)
def test_the_rule_index_never_changes_a_decision(
    book: object, words: list[str], plan: str, order: int, tier: int, domain: str
) -> None:
    from rules import Rulebook

    assert isinstance(book, Rulebook)
    snapshot = Snapshot(
        subject=f"{' '.join(words[:5])} ORD-{order}",
        body=" ".join(words[5:]),
        sender=f"x@{domain}",
        customer_tier=tier,
        attributes={"plan": plan},
    )
    assert book.evaluate(snapshot) == book.evaluate(snapshot, use_index=False)
