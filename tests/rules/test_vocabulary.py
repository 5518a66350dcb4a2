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
