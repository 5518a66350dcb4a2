"""The quarterly tier review (issue 18 item 6), every figure checked exactly against a hand-built fixture on
both databases: tiers at the start and end of 2026Q4 from the history, tickets, cost to serve (the cost
tests' trail), SLA compliance, flags, the transition matrix, slips and rises, four quarters' distribution,
the bottom-heavy shares (and the same data on the reversed scale); the sign-off record through the API and the
page; a bad quarter as a 422 problem, a 422 page and a located CLI error."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import time_machine
from sqlalchemy import update

from queues.runtime import Runtime
from router.customers import service as customers
from router.customers import tiering
from router.customers.quarter_review import parse_quarter, tier_review_report
from router.models.customers import Customer, CustomerAtRisk, CustomerTierChange
from router.models.reports import ReportTicket
from router.settings import Settings
from router.tickets import service as tickets
from router.tickets.actors import Actor
from router.unit_of_work import commit
from rules.vocabulary import TierScale
from tests.cli_in_process import run_cli
from tests.conftest import auth, make_agent
from tests.customers.test_cost import NOW, RATES, Trail, build
from tests.test_cli import tierroute
from tests.web.helpers import csrf_of, sign_in, web_agent

Q4 = parse_quarter("2026Q4")
HISTORY = CustomerTierChange.__table__  # type: ignore[attr-defined]
FACTS = ReportTicket.__table__  # type: ignore[attr-defined]


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 9, 0, tzinfo=UTC)


async def _customer(runtime: Runtime, ref: str, tier: int, onboarded: datetime) -> Customer:
    with time_machine.travel(onboarded, tick=False):
        async with runtime.app.sessionmaker() as s:
            made = await customers.create_customer(s, external_ref=ref, name=ref.title(), tier=tier)
            await commit(s, runtime.app.effects)
            return made


async def _retier(runtime: Runtime, customer_id: int, tier: int, moment: datetime) -> None:
    with time_machine.travel(moment, tick=False):
        async with runtime.app.sessionmaker() as s:
            found = await customers.get_customer(s, customer_id)
            await tiering.retier(s, found, tier, reason="by hand", by=None, source="manual")
            await commit(s, runtime.app.effects)


async def fixture(runtime: Runtime) -> dict[str, int]:
    """acme 1 → 2 in Nov (at risk in Nov), beta 3 → 2 in Aug, gamma new at 4 in Oct, delta 4 (→ 3 after the
    quarter), zeta 3 all along, epsilon onboarded after the quarter (not in it). The cost tests' trail gives acme
    tickets T1, T2 and beta T3 (T2 resolved at NOW here, so its cost stays put)."""
    ids, agents, owners = await build(runtime)
    acme, beta = owners["acme"].id, owners["beta"].id
    assert acme is not None and beta is not None
    with time_machine.travel(NOW, tick=False) as clock:
        await Trail(runtime, clock).do(
            NOW, ids["t2"], lambda s, t: tickets.resolve(s, t, Actor.of(agents["bob"]), resolution="done")
        )
    async with runtime.app.sessionmaker() as s:
        conn = await s.connection()
        for cid, onboarded in ((acme, day(2026, 3, 1)), (beta, day(2026, 5, 1))):
            await conn.execute(update(HISTORY).where(HISTORY.c.customer_id == cid).values(at=onboarded))
        for ticket, fr, res in ((ids["t1"], 0, 0), (ids["t2"], 1, 2), (ids["t3"], 0, 1)):  # met, breached, open
            await conn.execute(update(FACTS).where(FACTS.c.ticket_id == ticket).values(fr_outcome=fr, res_outcome=res))
        s.add(CustomerAtRisk(customer_id=acme, at=day(2026, 11, 10), window_days=30, tier=1, counts={}, crossed=[]))
        await commit(s, runtime.app.effects)
    await _retier(runtime, beta, 2, day(2026, 8, 1))
    await _retier(runtime, acme, 2, day(2026, 11, 15))
    gamma = await _customer(runtime, "gamma", 4, day(2026, 10, 15))
    delta = await _customer(runtime, "delta", 4, day(2026, 1, 10))
    zeta = await _customer(runtime, "zeta", 3, day(2026, 2, 1))
    epsilon = await _customer(runtime, "epsilon", 1, day(2027, 2, 1))
    assert delta.id and gamma.id and zeta.id and epsilon.id
    await _retier(runtime, delta.id, 3, day(2027, 1, 5))
    return {"acme": acme, "beta": beta, "gamma": gamma.id, "delta": delta.id, "zeta": zeta.id}


def _rows(report: Any) -> dict[str, tuple[Any, ...]]:
    return {
        r.external_ref: (
            r.current_tier, r.onboarding_tier, r.highest_tier, r.tier_at_start, r.tier_at_end, r.tickets,
            r.cost_to_serve, r.sla_met, r.sla_breached, r.sla_compliance, r.flags,
        )
        for r in report.customers
    }  # fmt: skip


async def test_the_review_figures_are_exact(runtime: Runtime) -> None:
    await fixture(runtime)
    async with runtime.app.sessionmaker() as s:
        report = await tier_review_report(s, Q4, TierScale(best=1), RATES, now=NOW)
        reversed_scale = await tier_review_report(s, Q4, TierScale(best=4), RATES, now=NOW)
    d = Decimal
    assert _rows(report) == {
        "acme": (2, 1, 1, 1, 2, 2, d("1970.00"), 2, 1, d("0.6667"), ["below_best", "at_risk"]),
        "beta": (2, 3, 2, 2, 2, 1, d("230.00"), 1, 1, d("0.5000"), ["above_onboarding"]),
        "gamma": (4, 4, 4, None, 4, 0, d("0.00"), 0, 0, None, []),
        "delta": (3, 4, 3, 4, 4, 0, d("0.00"), 0, 0, None, ["above_onboarding"]),
        "zeta": (3, 3, 3, 3, 3, 0, d("0.00"), 0, 0, None, []),
    }
    assert (report.quarter, report.tiers, report.slipped, report.risen) == ("2026Q4", [1, 2, 3, 4], 1, 0)
    assert {(t.from_tier, t.to_tier): t.customers for t in report.transitions if t.customers} == {
        (1, 2): 1, (2, 2): 1, (3, 3): 1, (4, 4): 1,
    }  # fmt: skip
    assert len(report.transitions) == 16
    assert [(q.quarter, q.customers) for q in report.distribution] == [
        ("2026Q1", {"1": 1, "2": 0, "3": 1, "4": 1}),
        ("2026Q2", {"1": 1, "2": 0, "3": 2, "4": 1}),
        ("2026Q3", {"1": 1, "2": 1, "3": 1, "4": 1}),
        ("2026Q4", {"1": 0, "2": 2, "3": 1, "4": 2}),
    ]
    b = report.bottom_heavy
    assert (b.tiers, b.customers_share, b.tickets_share, b.cost_share, b.bottom_heavy_by) == (
        [3, 4], d("0.6000"), d("0.0000"), d("0.0000"), ["customers"],
    )  # fmt: skip
    # Tier 4 the best: acme's 1 -> 2 is a rise, and the effort sits on tiers 2 and 1.
    r = reversed_scale
    assert (r.tiers, r.slipped, r.risen) == ([4, 3, 2, 1], 0, 1)
    assert r.distribution[-1].customers == {"4": 2, "3": 1, "2": 2, "1": 0}
    assert [t.from_tier for t in r.transitions[:4]] == [4, 4, 4, 4]
    rb = r.bottom_heavy
    assert (rb.tiers, rb.customers_share, rb.tickets_share, rb.cost_share, rb.bottom_heavy_by) == (
        [2, 1], d("0.4000"), d("1.0000"), d("1.0000"), ["tickets", "support_cost"],
    )  # fmt: skip


async def test_sign_off_api_page_and_bad_quarters(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ids = await fixture(runtime)
    lead, token = await make_agent(runtime, role="lead", tiers=())
    _, agent_token = await make_agent(runtime, role="agent", tiers=(1,))
    body = {"quarter": "2026q4", "customer_id": ids["acme"], "owner_id": lead.id, "reason": "churn_risk",
            "notes": "call their CFO", "closed": False}  # fmt: skip
    r = await client.post("/api/v1/reports/tiers/reviews", json=body, headers=auth(token))
    assert r.status_code == 200, r.text
    assert (r.json()["quarter"], r.json()["closed"], r.json()["closed_at"]) == ("2026Q4", False, None)
    r = await client.post("/api/v1/reports/tiers/reviews", json=body | {"closed": True}, headers=auth(token))
    assert r.json()["closed"] is True and r.json()["closed_at"] is not None
    for wrong in (body | {"reason": "vibes"}, body | {"quarter": "2026Q5"}, body | {"owner_id": 999}):
        bad = await client.post("/api/v1/reports/tiers/reviews", json=wrong, headers=auth(token))
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json", wrong
    missing = await client.post("/api/v1/reports/tiers/reviews", json=body | {"customer_id": 999}, headers=auth(token))
    assert missing.status_code == 404
    denied = await client.post("/api/v1/reports/tiers/reviews", json=body, headers=auth(agent_token))
    assert denied.status_code == 403

    got = await client.get("/api/v1/reports/tiers", params={"quarter": "2026Q4"}, headers=auth(token))
    assert got.status_code == 200
    report = got.json()
    acme = next(c for c in report["customers"] if c["external_ref"] == "acme")
    assert (acme["tier_at_start"], acme["tier_at_end"], acme["cost_to_serve"], acme["review"]["reason"]) == (
        1,
        2,
        "1477.50",
        "churn_risk",
    )  # fmt: skip: the installation's rates (rules/tiers.yaml): 47.75 h at 30/h and 1 h at 45/h
    assert (report["slipped"], report["risen"], report["signed_off"]) == (1, 0, 1)
    csv = await client.get("/api/v1/reports/tiers", params={"quarter": "2026Q4", "format": "csv"}, headers=auth(token))
    assert f"{ids['acme']},acme,Acme,2,1,1,1,2,2,1477.50,2,1,0.6667,below_best at_risk,churn_risk,True" in csv.text
    html = await client.get(
        "/api/v1/reports/tiers", params={"quarter": "2026Q4", "format": "html"}, headers=auth(token)
    )
    assert (
        html.status_code == 200 and "<h1>Tier review 2026Q4</h1>" in html.text and 'data-customer="acme"' in html.text
    )
    bad = await client.get("/api/v1/reports/tiers", params={"quarter": "Q4-2026"}, headers=auth(token))
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert "2026Q4" in bad.json()["detail"]
    assert (await client.get("/api/v1/reports/tiers", headers=auth(agent_token))).status_code == 403

    # The page: the nav bar, the figures, a sign-off form that saves; a bad quarter is a 422 page.
    web_lead = await web_agent(runtime, role="lead", tiers=())
    await sign_in(client, web_lead)
    page = await client.get("/reports/tiers", params={"quarter": "2026Q4"})
    assert page.status_code == 200 and 'href="/reports/tiers" aria-current="page"' in page.text
    assert 'data-slipped="1" data-risen="0"' in page.text and 'data-customer="zeta"' in page.text
    saved = await client.post(
        "/reports/tiers/reviews",
        data={
            "csrf_token": csrf_of(page.text),
            "quarter": "2026Q4",
            "customer_id": str(ids["zeta"]),
            "reason": "confirmed",
            "notes": "fine",
            "closed": "1",
        },
    )
    assert saved.status_code == 303 and saved.headers["location"].startswith("/reports/tiers?quarter=2026Q4")
    again = await client.get("/reports/tiers", params={"quarter": "2026Q4"})
    assert "2 signed off" in again.text
    wrong = await client.get("/reports/tiers", params={"quarter": "2026Q7"})
    assert wrong.status_code == 422 and "written like 2026Q4" in wrong.text and "Tier review" in wrong.text


async def test_the_command_line_writes_each_format(runtime: Runtime, settings: Settings, tmp_path: Path) -> None:
    await fixture(runtime)
    for fmt in ("html", "csv", "json"):
        out = tmp_path / f"review.{fmt}"
        done = tierroute(settings, "report", "tiers", "--quarter", "2026Q4", "--format", fmt, "--out", str(out))
        assert done.returncode == 0, done.stderr
        assert f"wrote {out}: 5 customers, 1 slipped, 0 rose; bottom-heavy by customers" in " ".join(
            done.stderr.split()
        )
    assert '"slipped": 1' in (tmp_path / "review.json").read_text()
    assert "<h1>Tier review 2026Q4</h1>" in (tmp_path / "review.html").read_text()
    assert "slipped,,1" in (tmp_path / "review.csv").read_text()


def test_the_command_line_names_a_bad_quarter() -> None:
    result = run_cli("report", "tiers", "--quarter", "2026-Q4")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --quarter: a quarterly review period is written like 2026Q4, got '2026-Q4'"
