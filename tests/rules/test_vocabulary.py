"""The shared words agree with the tables and the queue order that spell them."""

from __future__ import annotations

from router.models.agents import Agent, Role
from router.models.tickets import TICKET_REF_IN_SUBJECT, Priority, ticket_ref
from rules.vocabulary import (
    MAX_SUPPORT_TIER,
    PRIORITIES,
    PRIORITY_RANK,
    SUPPORT_TIER_NAMES,
    SUPPORT_TIERS,
    VENDOR_TIER,
)


def test_tiers_and_their_names() -> None:
    assert list(SUPPORT_TIERS) == [0, 1, 2, 3, 4]
    assert len(SUPPORT_TIER_NAMES) == len(SUPPORT_TIERS)
    assert VENDOR_TIER == MAX_SUPPORT_TIER == 4


def test_priorities_match_the_table_and_the_queue_order() -> None:
    assert tuple(Priority) == PRIORITIES
    assert PRIORITY_RANK == {"urgent": 0, "high": 1, "normal": 2, "low": 3}


def test_ticket_ref_round_trips_through_a_subject() -> None:
    ref = ticket_ref(123)
    assert ref == "T-000123"
    found = TICKET_REF_IN_SUBJECT.search(f"Re: [{ref}] printer on fire")
    assert found is not None and int(found.group(1)) == 123


def test_leads_are_leads_and_admins() -> None:
    assert [r for r in Role if Agent(name="x", email="x@example.com", role=r).is_lead] == [Role.lead, Role.admin]


def test_the_customer_tier_scale_both_ways_round() -> None:
    from rules.vocabulary import CUSTOMER_TIER_NAMES, TierScale

    one, four = TierScale(best=1), TierScale(best=4)
    assert [one.rank(t) for t in (1, 2, 3, 4)] == [1, 2, 3, 4]
    assert [four.rank(t) for t in (1, 2, 3, 4)] == [4, 3, 2, 1]
    assert one.best_first() == (1, 2, 3, 4) and four.best_first() == (4, 3, 2, 1)
    assert (one.worst, four.worst) == (4, 1)
    assert one.better(1, 2) and not one.better(2, 1) and four.better(2, 1) and not four.better(3, 3)
    assert one.best_of(3, 2, 4) == 2 and four.best_of(3, 2, 1) == 3 and four.worst_of(3, 2, 4) == 2
    assert (one.step(3, 1), one.step(1, 1), one.step(2, -5)) == (2, 1, 4)
    assert (four.step(3, 1), four.step(4, 1), four.step(3, -5)) == (4, 4, 1)
    assert one.bottom() == (3, 4) and four.bottom() == (2, 1)
    assert four.numbered(CUSTOMER_TIER_NAMES) == ("money-losing", "break-even", "core", "strategic partner")
    assert one.numbered(CUSTOMER_TIER_NAMES) == CUSTOMER_TIER_NAMES
    try:
        TierScale(best=2)
    except ValueError as exc:
        assert "1 or 4" in str(exc)
    else:
        raise AssertionError("best 2 accepted")
