"""An installation whose tier 4 is the best (``best: 4``): the queue, the rulebook's matrix, the highest tier,
the report and the tier review all read the numbers the other way round."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from queues.runtime import Runtime
from router.customers import review, tiering
from router.customers.policy import TierPolicyProvider
from router.models.customers import Customer, TierSource
from router.routing.rulebook import RulebookProvider
from router.unit_of_work import commit
from rules.review_periods import parse_period
from rules.vocabulary import TierScale, customer_scale
from tests.conftest import auth, make_agent, make_customer
from tests.customers.tiers_helpers import POLICY, add_monthly

#: Names are given best first whichever way the numbers run: on this scale tier 4 is the strategic partner.
BEST_FOUR = POLICY.format(best=4, thresholds="{4: 70, 3: 45, 2: 20}")


@pytest.fixture
def best_four(runtime: Runtime, tmp_path: Path) -> Runtime:
    """The runtime as a process started with a ``best: 4`` tier policy: its scale installed first, then the
    rulebook read on it (the conftest puts the default scale back afterwards)."""
    path = tmp_path / "tiers.yaml"
    path.write_text(BEST_FOUR, encoding="utf-8")
    runtime.app.settings.tier_policy = path
    runtime.app.tier_policy = TierPolicyProvider(path)
    runtime.app.rulebook = RulebookProvider(runtime.app.settings.rulebook)
    assert customer_scale() == TierScale(best=4)
    return runtime


async def test_queue_order_and_matrix_follow_the_scale(best_four: Runtime, client: httpx.AsyncClient) -> None:
    rt = best_four
    _, lead = await make_agent(rt, role="lead", tiers=())
    agent, token = await make_agent(rt, role="agent", tiers=(1,))
    await make_customer(rt, ref="loser", tier=1, domain="loser.example")  # money-losing: the worst
    await make_customer(rt, ref="even", tier=2, domain="even.example")  # break-even
    await make_customer(rt, ref="partner", tier=4, domain="partner.example")  # strategic partner: the best
    # Billing questions start at support tier 1 with priority normal; the matrix raises a strategic partner's
    # minor ticket to priority high (its row is named, and the name is tier 4 on this scale).
    worst, middle, best = [
        await _open(client, lead, email) for email in ("pat@loser.example", "pat@even.example", "pat@partner.example")
    ]
    assert [(t["customer_tier"], t["support_tier"], t["priority"]) for t in (worst, middle, best)] == [
        (1, 1, "normal"),
        (2, 1, "normal"),
        (4, 1, "high"),
    ]
    detail = (await client.get(f"/api/v1/tickets/{best['id']}", headers=auth(lead))).json()
    assert "matrix[strategic partner, minor]: priority normal raised to high" in str(detail)
    # The queue: the partner first (priority), then break-even (tier 2) before money-losing (tier 1), although
    # the money-losing customer's ticket is the oldest.
    claimed = []
    for _ in range(3):
        r = await client.post("/api/v1/queues/1/claim", headers=auth(token))
        assert r.status_code == 200, r.text
        claimed.append(r.json()["id"])
    assert claimed == [best["id"], middle["id"], worst["id"]]
    assert agent.id is not None


async def _open(client: httpx.AsyncClient, token: str, email: str) -> dict[str, Any]:
    ticket = {"subject": "Invoice question", "body": "Our invoice shows the wrong amount.", "requester_email": email}
    r = await client.post("/api/v1/tickets", json=ticket, headers=auth(token))
    assert r.status_code in (201, 202), r.text
    found: dict[str, Any] = (await client.get(f"/api/v1/tickets/{r.json()['id']}", headers=auth(token))).json()
    return found


async def test_highest_tier_review_and_report_follow_the_scale(best_four: Runtime, client: httpx.AsyncClient) -> None:
    rt = best_four
    _, lead = await make_agent(rt, role="lead", tiers=())
    climber = await make_customer(rt, ref="climber", tier=2, domain="climber.example")
    assert climber.id is not None
    async with rt.app.sessionmaker() as s:
        c = await s.get(Customer, climber.id)
        assert c is not None
        move = await tiering.retier(s, c, 3, reason="grew", by=None, source=TierSource.manual)
        assert move is not None and not move.slipped  # 2 -> 3 is a rise here
        await tiering.retier(s, c, 1, reason="shrank", by=None, source=TierSource.manual)
        assert (c.value_tier, c.highest_tier, c.onboarding_tier) == (1, 3, 2)
        await commit(s, rt.app.effects)

    # The review: 132,000 a year reaches the best tier, which is 4 here; a rise is made at once.
    await add_monthly(rt, climber.id, "revenue", 11000)
    policy = rt.app.tier_policy.current()
    async with rt.app.sessionmaker() as s:
        report = await review.review(s, policy, parse_period("2026Q4", "quarterly"), apply=True, by=None)
        await commit(s, rt.app.effects)
    [made] = report.moved
    assert (made.from_tier, made.to_tier, made.highest_after, made.slipped) == (1, 4, 4, False)

    # Three of four customers in tiers 1-2, the two lowest tiers on this scale: bottom-heavy.
    for n, tier in enumerate((1, 1, 2)):
        await make_customer(rt, ref=f"small{n}", tier=tier, domain=f"small{n}.example")
    data = (await client.get("/api/v1/reports/sla", headers=auth(lead))).json()["customer_tiers"]
    assert [(r["value_tier"], r["customers"]) for r in data["rows"]] == [(4, 1), (3, 0), (2, 1), (1, 2)]
    assert data["bottom_heavy"] is True
    async with rt.app.sessionmaker() as s:
        tiers = sorted((c.external_ref, c.value_tier) for c in (await s.exec(select(Customer))).all())
    assert tiers == [("climber", 4), ("small0", 1), ("small1", 1), ("small2", 2)]


async def test_a_running_process_refuses_a_turned_scale(
    runtime: Runtime, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text(POLICY.format(best=1, thresholds="{1: 70, 2: 45, 3: 20}"), encoding="utf-8")
    provider = runtime.app.tier_policy = TierPolicyProvider(path, check_every=0)
    first = provider.current()
    path.write_text(POLICY.format(best=1, thresholds="{1: 75, 2: 45, 3: 20}"), encoding="utf-8")
    edited = provider.current()
    assert edited.thresholds[1] == 75 and edited.version != first.version and provider.error is None
    path.write_text("criteria: [\n", encoding="utf-8")
    assert provider.current() is edited and provider.error is not None and ":2:1: not valid YAML" in provider.error
    path.write_text(BEST_FOUR, encoding="utf-8")
    assert provider.current() is edited and "turns the scale round" in (provider.error or "")
    assert customer_scale() == TierScale(best=1)
    ready = (await client.get("/readyz")).json()["checks"]["tier_policy"]
    assert (ready["version"], ready["best"]) == (edited.version, 1) and "turns the scale round" in ready[
        "refused_change"
    ]
