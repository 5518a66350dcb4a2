"""Every HTML response of the app carries the security headers, whichever route made it (the route table
is walked, so a new HTML route is covered without being named here); the API docs use no CDN."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from queues.runtime import Runtime
from tests.conftest import auth, make_agent
from tests.web.helpers import csrf_of, open_ticket, sign_in, web_agent

#: The headers every HTML response must send (the CSP may be one fitted to the page: checked apart).
REQUIRED = ["X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Cache-Control"]
#: Routes known to answer HTML: the walk must find each of them answering HTML.
KNOWN_HTML = {
    "/docs",
    "/reports",
    "/api/v1/reports/sla",
    "/ui/",
    "/ui/login",
    "/ui/queues/{tier}",
    "/ui/tickets/{ticket_id}",
    "/ui/admin/agents",
    "/ui/admin/agents/{agent_id}",
    "/ui/admin/customers",
    "/ui/profile",
}

#: Endless event streams (not HTML; ``httpx.ASGITransport`` would wait for their end).
STREAMS = {"/ui/events"}


def _get_paths(app: FastAPI, ticket_id: int) -> list[tuple[str, str]]:
    """(route path, URL) for every GET route, path parameters filled in."""
    values = {"ticket_id": str(ticket_id), "tier": "1", "source": "demo"}  # any other id: 1
    out = []
    for context in iter_route_contexts(app.routes):
        if "GET" not in (context.methods or set()) or context.path in STREAMS:
            continue
        url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "1"), context.path)
        out.append((context.path, f"{url}?format=html"))
    return out


def _check(response: httpx.Response) -> None:
    for name in REQUIRED:
        assert response.headers.get(name), f"{response.request.url} ({response.status_code}) lacks {name}"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "no-store" in response.headers["Cache-Control"]
    csp = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "base-uri 'none'" in csp, csp
    assert "script-src 'self'" in csp or ("default-src 'none'" in csp and "script-src" not in csp), csp
    assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp, csp


async def _walk(client: httpx.AsyncClient, paths: list[tuple[str, str]], headers: dict[str, str]) -> set[str]:
    html_routes = set()
    for path, url in paths:
        r = await client.get(url, headers=headers)
        if r.headers.get("content-type", "").startswith("text/html"):
            _check(r)
            html_routes.add(path)
    return html_routes


async def test_every_html_route_sends_the_security_headers(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime, tier=1)
    app = client._transport.app  # type: ignore[attr-defined]
    paths = _get_paths(app, ticket_id)
    anonymous = await _walk(client, paths, {})
    lead = await web_agent(runtime, role="lead", tiers=())
    await sign_in(client, lead)
    _, token = await make_agent(runtime, role="lead", tiers=())
    signed_in = await _walk(client, paths, auth(token))
    missing = KNOWN_HTML - (anonymous | signed_in)
    assert not missing, f"these routes answered no HTML in the walk: {missing}"


async def test_html_error_pages_send_the_security_headers(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await web_agent(runtime, tiers=(1,))
    form = await client.get("/ui/login")
    wrong = await client.post(
        "/ui/login", data={"email": agent.email, "password": "wrong password", "csrf_token": csrf_of(form.text)}
    )
    assert wrong.status_code == 401 and wrong.headers["content-type"].startswith("text/html")
    _check(wrong)
    await sign_in(client, agent)
    missing = await client.get("/ui/tickets/999999")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    _check(missing)
    forbidden = await client.get("/ui/queues/3")
    assert forbidden.status_code == 403
    _check(forbidden)


async def test_the_api_docs_load_nothing_from_another_origin(client: httpx.AsyncClient) -> None:
    html = (await client.get("/docs")).text
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    assert all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    assert "<script>" not in html.replace(" ", ""), "an inline script would need 'unsafe-inline'"
    for source in sources:
        r = await client.get(source)
        assert r.status_code == 200, source
    assert (await client.get("/redoc")).status_code == 404  # ReDoc loads from a CDN: not served
    csp = (await client.get("/docs")).headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "https:" not in csp
