"""Macros in the web UI (issue 17 item 5): leads write them (a template error re-renders the form with its
line), agents preview one on a ticket and apply it (with files), never on another tier's ticket."""

from __future__ import annotations

import re

import httpx

from queues.runtime import Runtime
from router.models.tickets import Status
from tests.web.helpers import load, open_ticket, sign_in, web_agent


async def test_a_lead_writes_a_macro_and_a_template_error_shows_its_line(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    lead = await web_agent(runtime, role="lead", tiers=())
    token = await sign_in(client, lead)
    assert 'href="/ui/macros"' in (await client.get("/ui/")).text
    form = {
        "csrf_token": token,
        "name": "Need logs",
        "body": "Hello,\nplease send the logs for {{ ticket.ref }}.\n{{ ticket.nope }}",
        "priority": "high",
        "add_tags": "logs, waiting",
        "status": "waiting_on_customer",
        "tiers": ["1", "2"],
    }
    r = await client.post("/ui/macros/new", data=form)
    assert r.status_code == 422
    assert "at line 3: ticket has no field &#39;nope&#39;" in r.text and "Need logs" in r.text
    form["body"] = "Hello,\nplease send the logs for {{ ticket.ref }}."
    r = await client.post("/ui/macros/new", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/ui/macros"
    listing = (await client.get("/ui/macros")).text
    assert "Need logs" in listing and "1, 2" in listing
    r = await client.post("/ui/macros/new", data=form)
    assert r.status_code == 409 and "there is a macro named" in r.text

    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(client, agent)
    r = await client.get("/ui/macros")
    assert r.status_code == 403 and "only leads and admins define macros" in r.text
    assert 'href="/ui/macros"' not in (await client.get("/ui/")).text


async def test_an_agent_previews_and_applies_a_macro_from_the_ticket(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ticket_id = await open_ticket(runtime, subject="Printer on fire")
    lead = await web_agent(runtime, role="lead", tiers=())
    token = await sign_in(client, lead)
    form = {
        "csrf_token": token,
        "name": "Ask for logs",
        "body": "About {{ ticket.subject }}: please send logs.\n{{ agent.name }}",
        "add_tags": "logs",
        "status": "waiting_on_customer",
    }
    assert (await client.post("/ui/macros/new", data=form)).status_code == 303
    agent = await web_agent(runtime, tiers=(1,), name="Tess Agent")
    token = await sign_in(client, agent)
    page = (await client.get(f"/ui/tickets/{ticket_id}")).text
    assert f'hx-get="/ui/tickets/{ticket_id}/macros"' in page
    picker = (await client.get(f"/ui/tickets/{ticket_id}/macros")).text
    assert "Ask for logs" in picker and "Apply macro" not in picker
    macro_id = re.findall(r'<option value="(\d+)"', picker)[0]  # the nav's status menu has options too
    preview = (await client.get(f"/ui/tickets/{ticket_id}/macros?macro={macro_id}")).text
    assert "About Printer on fire: please send logs.\nTess Agent</textarea>" in preview
    assert "<li>add tags logs</li>" in preview and "<li>set status to waiting on customer</li>" in preview

    r = await client.post(
        f"/ui/tickets/{ticket_id}/macros/{macro_id}/apply",
        data={"csrf_token": token, "body": "About the printer: send logs please."},
        files={"files": ("photo.jpg", b"jpeg bytes", "image/jpeg")},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/ui/tickets/{ticket_id}"
    page = (await client.get(r.headers["location"])).text
    assert "Macro applied to T-" in page and "About the printer: send logs please." in page
    assert "photo.jpg</a>" in page and "macro applied" in page
    ticket = await load(runtime, ticket_id)
    assert (ticket.status, ticket.tags) == (Status.waiting_on_customer, ["logs"])


async def test_a_preview_error_is_shown_and_another_tiers_ticket_is_refused(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ticket_id = await open_ticket(runtime)
    other = await open_ticket(runtime, tier=2)
    lead = await web_agent(runtime, role="lead", tiers=())
    token = await sign_in(client, lead)
    form = {"csrf_token": token, "name": "Broken", "body": "Hi\n{{ ticket.subject + 1 }}"}
    assert (await client.post("/ui/macros/new", data=form)).status_code == 303
    agent = await web_agent(runtime, tiers=(1,))
    token = await sign_in(client, agent)
    preview = await client.get(f"/ui/tickets/{ticket_id}/macros?macro=1")
    assert preview.status_code == 200 and 'role="alert"' in preview.text and "at line 2:" in preview.text
    r = await client.post(f"/ui/tickets/{ticket_id}/macros/1/apply", data={"csrf_token": token})
    assert r.status_code == 422 and "at line 2:" in r.text and "<html" in r.text
    assert (await client.get(f"/ui/tickets/{other}/macros")).status_code == 403
    r = await client.post(f"/ui/tickets/{other}/macros/1/apply", data={"csrf_token": token, "body": "x"})
    assert r.status_code == 403
    assert len((await load(runtime, other)).tags) == 0
