"""Administration pages over ASGI (issue 17 items 10 and 11): leads add and edit agents and customers,
collisions and bad input are pages, agents are kept out; the profile's time zone shows on every page."""

from __future__ import annotations

import re

import httpx
from sqlmodel import select

from queues.runtime import Runtime
from router.models.admin import AdminEvent
from router.models.agents import Agent
from tests.conftest import make_customer
from tests.web.helpers import PASSWORD, csrf_of, open_ticket, sign_in, web_agent


async def test_a_lead_adds_an_agent_who_can_then_sign_in(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead = await web_agent(runtime, role="lead", tiers=())
    csrf = await sign_in(client, lead)
    form = {"csrf_token": csrf, "name": "Nia Okafor", "email": "Nia@Support.Example", "role": "agent"}
    r = await client.post("/ui/admin/agents", data={**form, "tiers": ["1", "2"], "password": "first password"})
    assert r.status_code == 303, r.text
    page = (await client.get(r.headers["location"])).text
    assert "Agent nia@support.example added." in page and "Nia Okafor" in page

    again = await client.post("/ui/admin/agents", data=form)
    assert again.status_code == 409 and again.headers["content-type"].startswith("text/html")
    assert "an agent with email nia@support.example exists" in again.text and 'aria-label="Main"' in again.text

    client.cookies.clear()
    login = await client.get("/ui/login")
    r = await client.post(
        "/ui/login",
        data={"email": "nia@support.example", "password": "first password", "csrf_token": csrf_of(login.text)},
    )
    assert r.status_code == 303
    assert "Nia Okafor" in (await client.get("/ui/")).text


async def test_edit_deactivate_reset_and_tokens_on_the_agent_page(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead = await web_agent(runtime, role="lead", tiers=())
    target = await web_agent(runtime, tiers=(1,), name="Omar")
    csrf = await sign_in(client, lead)
    url = f"/ui/admin/agents/{target.id}"
    r = await client.post(url, data={"csrf_token": csrf, "name": "Omar B", "role": "agent", "tiers": ["2", "3"]})
    assert r.status_code == 303
    bad = await client.post(url, data={"csrf_token": csrf, "name": "Omar B", "role": "agent", "time_zone": "Mars/Base"})
    assert bad.status_code == 422 and "is not a time zone name" in bad.text

    issued = await client.post(f"{url}/tokens", data={"csrf_token": csrf, "label": "laptop"})
    assert issued.status_code == 200
    token = re.search(r'<code id="new-token">(trt_[^<]+)</code>', issued.text)
    assert token is not None
    assert (
        await client.get("/api/v1/queues", headers={"Authorization": f"Bearer {token.group(1)}"})
    ).status_code == 200
    assert token.group(1) not in (await client.get(url)).text  # shown once

    r = await client.post(f"{url}/password", data={"csrf_token": csrf, "password": "short"})
    assert r.status_code == 422 and "at least 8 characters" in r.text
    r = await client.post(f"{url}/active", data={"csrf_token": csrf, "active": "false"})
    assert r.status_code == 303
    page = (await client.get(url)).text
    assert "deactivated" in page and "Reactivate Omar B" in page
    async with runtime.app.sessionmaker() as s:
        omar = await s.get(Agent, target.id)
        assert omar is not None and (omar.name, omar.tiers, omar.active) == ("Omar B", [2, 3], False)
        actions = [
            e.action for e in (await s.exec(select(AdminEvent).where(AdminEvent.subject == f"agent:{target.id}"))).all()
        ]
    assert actions == ["agent.added", "agent.changed", "agent.token_issued", "agent.deactivated"]
    client.cookies.clear()
    login = await client.get("/ui/login")
    r = await client.post(
        "/ui/login", data={"email": target.email, "password": PASSWORD, "csrf_token": csrf_of(login.text)}
    )
    assert r.status_code == 401  # deactivated: no sign-in


async def test_agents_are_kept_out_of_administration(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await web_agent(runtime, tiers=(1,))
    csrf = await sign_in(client, agent)
    assert "/ui/admin/agents" not in (await client.get("/ui/")).text
    for path in ("/ui/admin/agents", "/ui/admin/customers"):
        r = await client.get(path)
        assert r.status_code == 403 and "only leads and admins" in r.text
    r = await client.post("/ui/admin/agents", data={"csrf_token": csrf, "name": "X", "email": "x@support.example"})
    assert r.status_code == 403


async def test_customers_searched_added_and_edited_with_clear_collisions(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await make_customer(runtime, ref="acme", tier=1, domain="acme.example")
    lead = await web_agent(runtime, role="lead", tiers=())
    csrf = await sign_in(client, lead)
    r = await client.post(
        "/ui/admin/customers",
        data={
            "csrf_token": csrf,
            "external_ref": "initech",
            "name": "Initech",
            "tier": "2",
            "domains": "initech.example\n",
        },
    )
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    listing = (await client.get("/ui/admin/customers", params={"q": "INITECH.ex"})).text
    assert "Initech" in listing and "Acme" not in listing

    taken = await client.post(f"{url}/domains", data={"csrf_token": csrf, "domain": "acme.example"})
    assert taken.status_code == 409 and "domain acme.example belongs to another customer: Acme (acme)" in taken.text
    bad = await client.post(f"{url}/contacts", data={"csrf_token": csrf, "email": "not an address"})
    assert bad.status_code == 422 and "not an email address" in bad.text
    r = await client.post(f"{url}/contacts", data={"csrf_token": csrf, "email": "Bill@Initech.example"})
    assert r.status_code == 303
    r = await client.post(
        url,
        data={"csrf_token": csrf, "name": "Initech Corp", "external_ref": "initech", "tier": "1", "reason": "renewal"},
    )
    assert r.status_code == 303
    page = (await client.get(url)).text
    assert "Initech Corp" in page and "bill@initech.example" in page and "2 → 1 — renewal" in page
    r = await client.post(f"{url}/contacts/remove", data={"csrf_token": csrf, "email": "bill@initech.example"})
    assert r.status_code == 303
    page = (await client.get(url)).text
    assert "Contact bill@initech.example removed." in page
    assert 'name="email" value="bill@initech.example"' not in page


async def test_times_follow_the_agents_time_zone(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime)
    agent = await web_agent(runtime, tiers=(1,))
    csrf = await sign_in(client, agent)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", (await client.get(f"/ui/tickets/{ticket_id}")).text)
    bad = await client.post("/ui/profile", data={"csrf_token": csrf, "time_zone": "Europe/Atlantis"})
    assert bad.status_code == 422 and "is not a time zone name" in bad.text
    r = await client.post("/ui/profile", data={"csrf_token": csrf, "time_zone": "Asia/Tokyo"})
    assert r.status_code == 303
    html = (await client.get(f"/ui/tickets/{ticket_id}")).text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d JST", html) and " UTC<" not in html
