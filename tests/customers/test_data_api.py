"""Customer data over the API (issue 18 item 2): the list's filters, search and keyset pages; attributes by
PATCH; figures pushed by a CRM or billing system, idempotent, checked, audited; the detail's latest metrics."""

from __future__ import annotations

import json

import httpx
from sqlmodel import col, select

from queues.runtime import Runtime
from router.customers import service as customers
from router.models.admin import AdminEvent
from router.unit_of_work import commit
from tests.conftest import auth, make_agent


async def add(runtime: Runtime, ref: str, name: str, tier: int, domain: str) -> int:
    async with runtime.app.sessionmaker() as s:
        customer = await customers.create_customer(s, external_ref=ref, name=name, tier=tier, domains=[domain])
        await commit(s, runtime.app.effects)
        assert customer.id is not None
        return customer.id


async def test_list_filters_by_tier_searches_name_and_domain_and_pages_by_cursor(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    for ref, name, tier, domain in [
        ("c1", "beta", 2, "beta.example"),
        ("c2", "Alpha", 1, "alpha.example"),
        ("c3", "alpha", 2, "alpha-two.example"),
        ("c4", "Gamma", 2, "gamma.example"),
        ("c5", "Delta", 4, "initech.example"),
    ]:
        await add(runtime, ref, name, tier, domain)

    async def page(**params: object) -> tuple[list[str], str | None, int]:
        r = await client.get("/api/v1/customers", params=params, headers=auth(token))
        assert r.status_code == 200, r.text
        body = r.json()
        return [c["external_ref"] for c in body["items"]], body["next_cursor"], body["total"]

    seen: list[str] = []
    cursor = None
    while True:
        refs, cursor, total = await page(limit=2, **({"cursor": cursor} if cursor else {}))
        seen += refs
        assert total == 5
        if cursor is None:
            break
    assert seen == ["c2", "c3", "c1", "c5", "c4"]  # by name in any case, then id
    await add(runtime, "c6", "Aardvark", 3, "aardvark.example")  # before the cursor: no shift, no repeat
    refs, cursor, _ = await page(limit=2)
    assert refs == ["c6", "c2"]
    refs, _, _ = await page(limit=2, cursor=cursor)
    assert refs == ["c3", "c1"]

    assert (await page(tier=2))[0] == ["c3", "c1", "c4"]
    assert (await page(q="INITECH"))[0] == ["c5"]  # a domain
    assert (await page(q="alpha", tier=2))[0] == ["c3"]
    for bad in ["nonsense", "WyJ4IiwwXQ", "x" * 601]:
        r = await client.get("/api/v1/customers", params={"cursor": bad}, headers=auth(token))
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text


async def test_metrics_are_pushed_idempotently_and_audited(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead, token = await make_agent(runtime, role="lead", tiers=())
    cid = await add(runtime, "acme", "Acme", 2, "acme.example")
    url = f"/api/v1/customers/{cid}/metrics"
    batch = {
        "metrics": [
            {"period": "2026-09", "metric": "revenue_12m", "value": 100000, "source": "billing"},
            {"period": "2026-10", "metric": "revenue_12m", "value": 120000.5, "source": "billing"},
            {"period": "2026-10", "metric": "revenue_12m", "value": 118000, "source": "crm.hubspot"},
            {"period": "2026-10", "metric": "growth_potential", "value": 4, "source": "crm.hubspot"},
        ]
    }
    r = await client.post(url, json=batch, headers=auth(token))
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 4, "updated": 0, "unchanged": 0}
    r = await client.post(url, json=batch, headers=auth(token))
    assert r.json() == {"created": 0, "updated": 0, "unchanged": 4}
    changed = {"metrics": [{**batch["metrics"][1], "value": 121000}]}
    r = await client.post(url, json=changed, headers=auth(token))
    assert r.json() == {"created": 0, "updated": 1, "unchanged": 0}

    detail = (await client.get(f"/api/v1/customers/{cid}", headers=auth(token))).json()
    assert [(m["metric"], m["source"], m["period"], m["value"]) for m in detail["metrics"]] == [
        ("growth_potential", "crm.hubspot", "2026-10", 4.0),
        ("revenue_12m", "billing", "2026-10", 121000.0),
        ("revenue_12m", "crm.hubspot", "2026-10", 118000.0),
    ]
    async with runtime.app.sessionmaker() as s:
        events = (
            await s.exec(
                select(AdminEvent).where(AdminEvent.action == "customer.metrics_recorded").order_by(col(AdminEvent.id))
            )
        ).all()
    assert [(e.actor, e.subject, e.data["created"], e.data["updated"]) for e in events] == [
        (f"agent:{lead.id}", f"customer:{cid}", 4, 0),
        (f"agent:{lead.id}", f"customer:{cid}", 0, 1),  # the unchanged batch left no trace
    ]


async def test_bad_figures_are_422_problems_and_nothing_is_recorded(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    _, agent_token = await make_agent(runtime, role="agent", tiers=(1,))
    cid = await add(runtime, "acme", "Acme", 2, "acme.example")
    url = f"/api/v1/customers/{cid}/metrics"
    good = {"period": "2026-10", "metric": "revenue_12m", "value": 1, "source": "billing"}
    bad_items = [
        {"value": float("nan")},
        {"value": float("inf")},
        {"value": -float("inf")},
        {"value": 1e16},
        {"value": 10**30},
        {"value": 10**400},
        {"value": "12"},
        {"value": True},
        {"period": "2026-13"},
        {"period": "2026-1"},
        {"period": "0999-01"},
        {"metric": "Revenue"},
        {"metric": "r" * 41},
        {"source": "Billing System"},
        {"extra": 1},
    ]
    for change in bad_items:
        body = json.dumps({"metrics": [good, {**good, "source": "crm", **change}]})  # Python's json writes NaN
        r = await client.post(url, content=body, headers={**auth(token), "Content-Type": "application/json"})
        assert r.status_code == 422, (change, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["field"].startswith("body.metrics.1"), r.json()
    twice = {"metrics": [good, {**good, "value": 2}]}
    r = await client.post(url, json=twice, headers=auth(token))
    assert r.status_code == 422 and r.json()["detail"] == (
        "metrics.1: revenue_12m for 2026-10 from billing is also metrics.0"
    )
    assert (await client.post(url, json={"metrics": []}, headers=auth(token))).status_code == 422
    r = await client.post("/api/v1/customers/999/metrics", json={"metrics": [good]}, headers=auth(token))
    assert r.status_code == 404
    r = await client.post(url, json={"metrics": [good]}, headers=auth(agent_token))
    assert r.status_code == 403
    detail = (await client.get(f"/api/v1/customers/{cid}", headers=auth(token))).json()
    assert detail["metrics"] == []


async def test_patch_merges_attributes_and_the_history_says_where_a_tier_came_from(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    lead, token = await make_agent(runtime, role="lead", tiers=())
    cid = await add(runtime, "acme", "Acme", 3, "acme.example")
    url = f"/api/v1/customers/{cid}"
    r = await client.patch(
        url, json={"attributes": {"reference_logo": True, "industry": "retail"}}, headers=auth(token)
    )
    assert r.status_code == 200, r.text
    assert r.json()["attributes"] == {"reference_logo": True, "industry": "retail"}
    r = await client.patch(
        url,
        json={"attributes": {"industry": None, "seats": 40}, "value_tier": 2, "reason": "renewal"},
        headers=auth(token),
    )
    assert r.json()["attributes"] == {"reference_logo": True, "seats": 40}
    assert [(h["to_tier"], h["source"], h["reason"]) for h in r.json()["tier_history"]] == [
        (3, "import", "onboarding"),  # made by the tests without an agent, as an import is
        (2, "manual", "renewal"),
    ]
    for bad in [{"Bad Name": 1}, {"x": "y" * 201}, {"x": [1]}, {"x": {"y": 1}}, {"x": 10**400}, {"x": -(10**16)}]:
        r = await client.patch(url, json={"attributes": bad}, headers=auth(token))
        assert r.status_code == 422, (bad, r.text)
    r = await client.patch(
        url, content='{"attributes": {"x": NaN}}', headers={**auth(token), "Content-Type": "application/json"}
    )
    assert r.status_code == 422
    async with runtime.app.sessionmaker() as s:
        changes = (
            await s.exec(
                select(AdminEvent.data)
                .where(AdminEvent.action == "customer.changed", AdminEvent.subject == f"customer:{cid}")
                .order_by(col(AdminEvent.id))
            )
        ).all()
    assert changes == [
        {"attributes.industry": [None, "retail"], "attributes.reference_logo": [None, True]},
        {"attributes.industry": ["retail", None], "attributes.seats": [None, 40]},
    ]
    assert lead.id is not None
