"""Polish (issue 17 item 11): /reports in the UI with a date-range picker and dates as dates; a favicon.
(``/docs`` from local files: ``tests/test_security_headers.py`` and ``test_browser_workspace.py``.)"""

from __future__ import annotations

import re

import httpx

from queues.runtime import Runtime
from tests.web.helpers import sign_in, web_agent


async def test_reports_page_has_the_bar_a_date_range_and_shows_days(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    lead = await web_agent(runtime, role="lead", tiers=())
    await sign_in(client, lead)
    r = await client.get("/reports", params={"from": "2026-01-01", "to": "2026-01-31", "granularity": "week"})
    assert r.status_code == 200, r.text
    html = r.text
    assert 'aria-label="Main"' in html  # the navigation bar
    assert 'name="from" type="date" value="2026-01-01"' in html and 'name="to" type="date" value="2026-01-31"' in html
    assert "Tickets created 2026-01-01 to 2026-01-31 (UTC)" in html
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", html.split('<div class="report">')[1].split("<svg")[0])

    browser = {"accept": "text/html"}
    wrong = await client.get("/reports", params={"from": "2026-02-01", "to": "2026-01-01"}, headers=browser)
    assert wrong.status_code == 422 and "the last day (2026-01-01) is before the first (2026-02-01)" in wrong.text
    far = await client.get("/reports", params={"from": "2026-01-01", "to": "9999-12-31"}, headers=browser)
    assert far.status_code == 422 and 'aria-label="Main"' in far.text


async def test_reports_days_are_the_agents_days(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead = await web_agent(runtime, role="lead", tiers=())
    csrf = await sign_in(client, lead)
    await client.post("/ui/profile", data={"csrf_token": csrf, "time_zone": "America/New_York"})
    html = (await client.get("/reports", params={"from": "2026-03-01", "to": "2026-03-10"})).text
    assert "Tickets created 2026-03-01 to 2026-03-10 (America/New_York)" in html


async def test_a_favicon(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ico = await client.get("/favicon.ico")
    assert ico.status_code == 200 and ico.headers["content-type"] == "image/x-icon" and ico.content[:4] == b"\0\0\1\0"
    svg = await client.get("/ui/static/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert 'rel="icon"' in (await client.get("/ui/login")).text
