"""Customer administration over the API (issue 17 item 10): list and search, add, edit, domains and
contacts, all audited; a reference, domain or contact another customer holds is a clear 409."""

from __future__ import annotations

import httpx
from sqlmodel import col, select

from queues.runtime import Runtime
from router.models.admin import AdminEvent
from tests.conftest import auth, make_agent, make_customer


async def test_search_by_name_reference_domain_and_contact(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    await make_customer(runtime, ref="acme", tier=1, domain="acme.example")
    await make_customer(runtime, ref="globex", tier=3, domain="globex.example")
    await make_customer(runtime, ref="100%_pure", tier=2, domain="pure.example")

    async def refs(**params: object) -> list[str]:
        r = await client.get("/api/v1/customers", params=params, headers=auth(token))
        assert r.status_code == 200, r.text
        return [c["external_ref"] for c in r.json()["items"]]

    assert await refs() == ["100%_pure", "acme", "globex"]
    assert await refs(q="GLOB") == ["globex"]
    assert await refs(q="acme.ex") == ["acme"]
    assert await refs(q="%_") == ["100%_pure"]  # taken literally, not as LIKE wildcards
    assert await refs(tier=3) == ["globex"]
    assert await refs(limit=1, offset=1) == ["acme"]
    r = await client.get("/api/v1/customers", params={"tier": 9}, headers=auth(token))
    assert r.status_code == 422


async def test_add_edit_domains_and_contacts_with_collisions(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead, token = await make_agent(runtime, role="lead", tiers=())
    await make_customer(runtime, ref="acme", tier=1, domain="acme.example")
    body = {"external_ref": "initech", "name": "Initech", "tier": 2, "domains": ["Initech.Example"], "contacts": []}
    r = await client.post("/api/v1/customers", json=body, headers=auth(token))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["domains"] == ["initech.example"]

    taken = {**body, "external_ref": "other", "domains": ["acme.example"]}
    r = await client.post("/api/v1/customers", json=taken, headers=auth(token))
    assert r.status_code == 409 and "acme.example" in r.json()["detail"]
    r = await client.post(f"/api/v1/customers/{cid}/domains", json={"domain": "ACME.example"}, headers=auth(token))
    assert r.status_code == 409 and "belongs to another customer: Acme (acme)" in r.json()["detail"]
    r = await client.post(f"/api/v1/customers/{cid}/domains", json={"domain": "not a domain"}, headers=auth(token))
    assert r.status_code == 422
    r = await client.patch(f"/api/v1/customers/{cid}", json={"external_ref": "acme"}, headers=auth(token))
    assert r.status_code == 409 and "reference 'acme'" in r.json()["detail"]

    r = await client.post(
        f"/api/v1/customers/{cid}/contacts", json={"email": "Bill@Initech.example"}, headers=auth(token)
    )
    assert r.status_code == 200 and r.json()["contacts"] == ["bill@initech.example"]
    r = await client.post(f"/api/v1/customers/{cid}/domains", json={"domain": "initrode.example"}, headers=auth(token))
    assert r.json()["domains"] == ["initech.example", "initrode.example"]
    r = await client.patch(
        f"/api/v1/customers/{cid}",
        json={"name": "Initech Corp", "value_tier": 1, "reason": "renewal"},
        headers=auth(token),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["value_tier"], r.json()["highest_tier"]) == ("Initech Corp", 1, 1)
    assert r.json()["tier_history"][-1]["reason"] == "renewal"
    assert (
        await client.delete(f"/api/v1/customers/{cid}/domains/initrode.example", headers=auth(token))
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/customers/{cid}/contacts/bill@initech.example", headers=auth(token))
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/customers/{cid}/contacts/bill@initech.example", headers=auth(token))
    ).status_code == 404

    async with runtime.app.sessionmaker() as s:
        rows = await s.exec(
            select(AdminEvent).where(AdminEvent.subject == f"customer:{cid}").order_by(col(AdminEvent.id))
        )
        events = list(rows.all())
    assert [e.action for e in events] == [
        "customer.added",
        "customer.contact_added",
        "customer.domain_added",
        "customer.changed",
        "customer.retiered",
        "customer.domain_removed",
        "customer.contact_removed",
    ]
    assert {e.actor for e in events} == {f"agent:{lead.id}"}


async def test_agents_may_not_administer_customers(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="agent", tiers=(1,))
    assert (await client.get("/api/v1/customers", headers=auth(token))).status_code == 403
