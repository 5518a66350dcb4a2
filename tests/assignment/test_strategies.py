"""The pure choice and the settings file: each strategy, caps, skills, the account owner, located errors."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from rules.assignment import (
    AssignmentError,
    Candidate,
    TierAssignment,
    choose,
    parse_assignment,
    ticket_terms,
)


def _run(
    strategy: str, candidates: list[Candidate], rounds: int, *, terms: frozenset[str] = frozenset()
) -> Counter[int]:
    """``rounds`` assignments; each offer adds load and stamps the time (round robin's order), as the assigner does."""
    pool = {c.agent_id: c for c in candidates}
    got: Counter[int] = Counter()
    for clock in range(1, rounds + 1):
        choice = choose(TierAssignment(strategy), list(pool.values()), terms=terms)
        if choice is None:
            break
        got[choice.agent_id] += 1
        c = pool[choice.agent_id]
        pool[c.agent_id] = replace(c, open_count=c.open_count + 1, last_offered=float(clock))
    return got


def test_round_robin_is_fair_within_one_over_a_thousand_assignments() -> None:
    agents = [Candidate(i, 0, 10_000) for i in range(1, 8)]
    got = _run("round_robin", agents, 1000)
    assert sum(got.values()) == 1000
    assert max(got.values()) - min(got.values()) <= 1


def test_caps_are_never_exceeded() -> None:
    agents = [Candidate(1, 0, 3), Candidate(2, 1, 2), Candidate(3, 0, 0)]
    for strategy in ("round_robin", "least_loaded", "skills_then_least_loaded"):
        got = _run(strategy, agents, 100)
        assert got == {1: 3, 2: 1}, strategy


def test_least_loaded_takes_the_lowest_share_of_the_cap() -> None:
    choice = choose(TierAssignment("least_loaded"), [Candidate(1, 2, 4), Candidate(2, 2, 10), Candidate(3, 0, 1)])
    assert choice is not None and choice.agent_id == 3 and choice.considered == (3, 2, 1)


def test_skills_win_over_load() -> None:
    terms = ticket_terms("billing", None, "de", ["invoice"])
    billing_de = Candidate(1, 4, 5, frozenset({"billing", "de"}))
    billing = Candidate(2, 0, 5, frozenset({"billing"}))
    idle = Candidate(3, 0, 5, frozenset({"sso"}))
    got = _run("skills_then_least_loaded", [billing_de, billing, idle], 1, terms=terms)
    assert got == {1: 1}
    assert _run("skills_then_least_loaded", [billing, idle], 5, terms=terms) == {2: 5}


def test_the_account_owner_is_preferred_when_eligible() -> None:
    pool = [Candidate(1, 0, 5), Candidate(2, 4, 5), Candidate(3, 5, 5)]
    rule = TierAssignment("least_loaded")
    assert (c := choose(rule, pool, account_owner=2)) is not None and (c.agent_id, c.reason) == (2, "account owner")
    assert (c := choose(rule, pool, account_owner=3)) is not None and c.agent_id == 1  # the owner is full
    assert (c := choose(replace(rule, prefer_account_owner=False), pool, account_owner=2)) is not None
    assert c.agent_id == 1


def test_pull_and_full_teams_choose_nobody() -> None:
    assert choose(TierAssignment("pull"), [Candidate(1, 0, 5)]) is None
    assert choose(TierAssignment("round_robin"), [Candidate(1, 5, 5)]) is None


def test_the_file_reads_defaults_and_tiers() -> None:
    text = (
        "away_after: 2m\ndefaults: {offer_timeout: 90s}\n"
        "tiers:\n  1: {strategy: round_robin}\n  2: {strategy: least_loaded, offer_timeout: 1h}\n"
    )
    settings = parse_assignment(text, "a.yaml")
    assert settings.away_after == 120 and settings.push_tiers() == {1, 2}
    assert settings.of(1) == TierAssignment("round_robin", 90.0) and settings.of(2).offer_timeout == 3600
    assert settings.of(0).strategy == "pull"


def test_every_mistake_is_located() -> None:
    text = "tiers:\n  1: {strategy: round_robbin, offer_timeout: soon}\n  7: {strategy: pull}\nextra: 1\n"
    with pytest.raises(AssignmentError) as caught:
        parse_assignment(text, "a.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "a.yaml:4:1: unknown key 'extra'; use version, defaults, tiers, away_after",
        "a.yaml:2:7: unknown strategy 'round_robbin'; use pull, round_robin, least_loaded, skills_then_least_loaded",
        "a.yaml:2:31: offer_timeout is a duration such as 90, 90s, 2m or 1h, got 'soon'",
        "a.yaml:3:3: unknown support tier 7; tiers are 0 to 4",
    ]


def test_a_timeout_beyond_a_day_is_refused_where_it_is_written() -> None:
    """``.inf``, ``.nan`` or ``1e12`` would overflow the offer's deadline on every batch."""
    text = "tiers:\n  1: {strategy: round_robin, offer_timeout: .inf}\n  2: {strategy: pull, offer_timeout: 1e12}\n"
    with pytest.raises(AssignmentError) as caught:
        parse_assignment(text, "a.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "a.yaml:2:30: offer_timeout is at most a day (24h), got inf",
        "a.yaml:3:23: offer_timeout is at most a day (24h), got 1000000000000.0",
    ]
