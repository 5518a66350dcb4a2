"""Workspace pages over ASGI: the ticket list's filters and saved views, My tickets with Recently viewed,
the navigation bar's search box and counts, the richer queue rows, and tier visibility on all of them."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import httpx

from queues.runtime import Runtime
from tests.web.helpers import csrf_of, sign_in, web_agent
from tests.workspace import factories


def _refs(html: str) -> set[str]:
    return set(re.findall(r'<span class="ref">(T-\d+)</span>', html))


async def test_the_list_filters_and_sorts_by_query_string(runtime: Runtime, client: httpx.AsyncClient) -> None:
    acme = await factories.customer(runtime, "acme", "Acme Rockets", 1)
    urgent = await factories.ticket(runtime, subject="Launch pad on fire", owner=acme, priority="urgent")
    low = await factories.ticket(runtime, subject="Typo on invoice", priority="low", requester="li@x.example")
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(client, agent)
    page = await client.get("/ui/tickets")
    assert page.status_code == 200
    assert _refs(page.text) == {urgent.ref, low.ref}
    assert "Acme Rockets" in page.text and "li@x.example" in page.text  # customer and requester on each row
    # Empty form fields mean "any"; the form's own submission works as is.
    form = {"q": "", "priority": "urgent", "support_tier": "", "sort": "", "status": "queued", "tag": ""}
    assert _refs((await client.get("/ui/tickets?" + urlencode(form))).text) == {urgent.ref}
    assert _refs((await client.get("/ui/tickets?q=invoice")).text) == {low.ref}
    bad = await client.get("/ui/tickets?priority=extreme")
    assert bad.status_code == 422 and "<h1" in bad.text and "priority" in bad.text  # a page, not JSON


async def test_search_box_opens_a_ref_and_searches_text(runtime: Runtime, client: httpx.AsyncClient) -> None:
    made = await factories.ticket(runtime, subject="Printer offline")
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(client, agent)
    for typed in (made.ref, made.ref.lower(), f" {made.ref} "):
        r = await client.get("/ui/search", params={"q": typed})
        assert r.status_code == 303 and r.headers["location"] == f"/ui/tickets/{made.id}"
    r = await client.get("/ui/search", params={"q": "printer"})
    assert r.status_code == 303
    results = await client.get(r.headers["location"])
    assert _refs(results.text) == {made.ref} and "Search results for" in results.text
    missing = await client.get("/ui/search", params={"q": "T-999999"})  # no such ticket: searched as text
    assert missing.headers["location"].startswith("/ui/tickets?q=T-999999")


async def test_another_tiers_ticket_stays_hidden_from_list_search_and_my_pages(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    hidden = await factories.ticket(runtime, subject="Kernel panic on the database host", tier=3)
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(client, agent)
    assert hidden.ref not in (await client.get("/ui/tickets")).text
    assert hidden.ref not in (await client.get("/ui/tickets?q=kernel+panic")).text
    assert hidden.ref not in (await client.get("/ui/tickets?support_tier=3")).text
    by_ref = await client.get("/ui/search", params={"q": hidden.ref}, follow_redirects=True)
    assert by_ref.status_code == 403  # the ticket page refuses it, as a direct link would


async def test_saved_views_private_and_shared(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await factories.ticket(runtime, subject="Urgent", priority="urgent")
    agent = await web_agent(runtime, tiers=(1,))
    csrf = await sign_in(client, agent)
    saved = await client.post(
        "/ui/views", data={"csrf_token": csrf, "name": "Fires", "filters": "priority=urgent&sort=oldest"}
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/ui/tickets?priority=urgent&sort=oldest"
    page = (await client.get(saved.headers["location"])).text
    assert 'aria-current="page">Fires</a>' in page
    refused = await client.post(
        "/ui/views", data={"csrf_token": csrf, "name": "For all", "filters": "", "shared": "true"}
    )
    assert refused.status_code == 403 and "only leads" in refused.text
    bad = await client.post("/ui/views", data={"csrf_token": csrf, "name": "Odd", "filters": "sla=late"})
    assert bad.status_code == 422

    lead = await web_agent(runtime, role="lead", tiers=())
    csrf = await sign_in(client, lead)
    shared = await client.post(
        "/ui/views", data={"csrf_token": csrf, "name": "Team fires", "filters": "priority=urgent", "shared": "true"}
    )
    assert shared.status_code == 303
    assert "Fires</a>" not in (await client.get("/ui/tickets")).text  # the agent's private view
    await sign_in(client, agent)
    listing = (await client.get("/ui/tickets")).text
    assert "Team fires</a>" in listing and "Fires</a>" in listing
    assert 'aria-label="Delete view Team fires"' not in listing  # not theirs to delete


async def test_my_tickets_recently_viewed_and_nav_counts(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await web_agent(runtime, tiers=(1,))
    mine = await factories.ticket(runtime, subject="Mine and late", assignee=agent, sla_state="breached")
    other = await factories.ticket(runtime, subject="Just looked at")
    await sign_in(client, agent)
    assert "/ui/my/counts" in (await client.get("/ui/")).text
    counts = await client.get("/ui/my/counts")
    assert 'data-my-open="1"' in counts.text and "1 late" in counts.text
    page = (await client.get("/ui/my")).text
    assert mine.ref in page and other.ref not in page
    assert "In progress" in page
    await client.get(f"/ui/tickets/{other.id}")
    await client.get(f"/ui/tickets/{mine.id}")
    page = (await client.get("/ui/my")).text
    recent = page[page.index("Recently viewed") :]
    assert recent.index(mine.ref) < recent.index(other.ref)


async def test_queue_rows_show_requester_customer_and_sla(runtime: Runtime, client: httpx.AsyncClient) -> None:
    acme = await factories.customer(runtime, "acme", "Acme Rockets", 1)
    await factories.ticket(runtime, subject="Fuel leak", owner=acme, requester="ops@acme.example")
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(client, agent)
    html = (await client.get("/ui/queues/1")).text
    assert "ops@acme.example" in html and "Acme Rockets" in html and "strategic partner" in html
    assert csrf_of(html)
