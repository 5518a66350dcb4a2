"""The one door for a customer's tier: every change in the history, audited, and told once to the outbox."""

from __future__ import annotations

from typing import Any

import pytest

from queues.runtime import Runtime
from router.customers import tiering
from router.errors import Invalid
from router.models.customers import Customer, TierSource
from router.unit_of_work import commit
from tests.conftest import make_agent, make_customer
from tests.customers.tiers_helpers import Trail, trail


async def test_a_change_is_in_the_history_audited_and_told_once(runtime: Runtime) -> None:
    lead, _ = await make_agent(runtime, role="lead", tiers=())
    made = await make_customer(runtime, ref="acme", tier=2, domain="acme.example")
    assert made.id is not None
    async with runtime.app.sessionmaker() as s:
        customer = await s.get(Customer, made.id)
        assert customer is not None
        slip = await tiering.retier(s, customer, 3, reason=" renewal lost ", by=lead, source=TierSource.manual)
        rise = await tiering.retier(
            s, customer, 1, reason="won back", by="system:tier-review", source=TierSource.policy,
            score={"score": 81.5, "components": []}, policy_version="abc123",
        )  # fmt: skip
        same = await tiering.retier(s, customer, 1, reason="again", by=None, source=TierSource.manual)
        await commit(s, runtime.app.effects)
    assert slip is not None and slip.slipped and rise is not None and not rise.slipped and same is None
    async with runtime.app.sessionmaker() as s:
        after = await s.get(Customer, made.id)
        assert after is not None
        assert (after.value_tier, after.onboarding_tier, after.highest_tier) == (1, 2, 1)

    t = await trail(runtime, made.id)
    assert [(h.from_tier, h.to_tier, h.reason, h.source, h.actor) for h in t.history] == [
        (None, 2, "onboarding", TierSource.imported, "cli"),
        (2, 3, "renewal lost", TierSource.manual, f"agent:{lead.id}"),
        (3, 1, "won back", TierSource.policy, "system:tier-review"),
    ]
    assert t.history[2].score == {"score": 81.5, "components": []} and t.history[2].policy_version == "abc123"
    assert [(a.actor, a.data["tier"], a.data["source"], a.data["policy_version"]) for a in t.audit] == [
        (f"agent:{lead.id}", [2, 3], "manual", None),
        ("system:tier-review", [3, 1], "policy", "abc123"),
    ]
    assert t.audit[1].data["score"] == {"score": 81.5, "components": []}
    # Exactly one tier_changed and one of tier_slipped / tier_rose per change, nothing for "no change".
    assert sorted(t.event_types()) == sorted(
        ["customer.tier_changed", "customer.tier_slipped", "customer.tier_changed", "customer.tier_rose"]
    )
    slipped = next(e for e in t.events if e.type == "customer.tier_slipped")
    assert (slipped.ticket_id, slipped.data["from_tier"], slipped.data["to_tier"], slipped.data["reason"]) == (
        None, 2, 3, "renewal lost",
    )  # fmt: skip


async def test_wrong_input_changes_nothing(runtime: Runtime) -> None:
    made = await make_customer(runtime, ref="acme", tier=2, domain="acme.example")
    async with runtime.app.sessionmaker() as s:
        customer = await s.get(Customer, made.id)
        assert customer is not None
        for tier, reason, field in [
            (5, "why", "tier"),
            (0, "why", "tier"),
            (3, "  ", "reason"),
            (3, "x" * 501, "reason"),
        ]:
            with pytest.raises(Invalid) as caught:
                await tiering.retier(s, customer, tier, reason=reason, by=None, source=TierSource.manual)
            assert caught.value.extra["field"] == field
        with pytest.raises(ValueError, match="comes from policy, manual, import"):
            await tiering.retier(s, customer, 3, reason="why", by=None, source="crm")
    assert made.id is not None
    assert (await trail(runtime, made.id)).changes == []


async def test_a_reviews_moves_write_what_one_change_writes_and_skip_a_customer_changed_meanwhile(
    runtime: Runtime,
) -> None:
    one = await make_customer(runtime, ref="one", tier=2, domain="one.example")
    many = await make_customer(runtime, ref="many", tier=2, domain="many.example")
    moved_meanwhile = await make_customer(runtime, ref="meanwhile", tier=2, domain="meanwhile.example")
    assert one.id is not None and many.id is not None and moved_meanwhile.id is not None
    score = {"score": 30.0}
    async with runtime.app.sessionmaker() as s:
        customer = await s.get(Customer, one.id)
        assert customer is not None
        await tiering.retier(
            s, customer, 3, reason="r", by="system:x", source=TierSource.policy, score=score, policy_version="v"
        )
        await commit(s, runtime.app.effects)
    async with runtime.app.sessionmaker() as s:
        made = await tiering.retier_many(
            s,
            [
                tiering.TierMove(many.id, 2, 3, 2, "r", TierSource.policy, score, "v"),
                tiering.TierMove(moved_meanwhile.id, 1, 3, 1, "r", TierSource.policy, score, "v"),  # it is at 2
            ],
            by="system:x",
        )
        await commit(s, runtime.app.effects)
    assert [m.customer_id for m in made] == [many.id]

    def shape(t: Trail) -> tuple[list[Any], list[Any], list[Any]]:
        return (
            [(h.from_tier, h.to_tier, h.reason, h.source, h.actor, h.score, h.policy_version) for h in t.changes],
            [(a.actor, a.action, a.data) for a in t.audit],
            [(e.type, e.data) for e in t.events],
        )

    assert shape(await trail(runtime, one.id)) == shape(await trail(runtime, many.id))
    assert (await trail(runtime, moved_meanwhile.id)).changes == []
    async with runtime.app.sessionmaker() as s:
        assert [c.value_tier for c in [await s.get(Customer, i) for i in (one.id, many.id)] if c] == [3, 3]
