"""Every failing UI request gets an HTML page with the navigation bar; the API keeps problem+json (issue 16
item 25). A UI request is one under ``/ui``, or one for the ``/reports`` page from a browser (it accepts HTML)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from queues.runtime import Runtime
from router.app import create_app
from router.settings import Settings
from router.web import views
from tests.conftest import auth, make_agent
from tests.web.helpers import open_ticket, sign_in, web_agent

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
NAV = '<nav aria-label="Main">'


def assert_page_with_nav(r: httpx.Response, status: int, *words: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
    assert NAV in r.text and "Sign out" in r.text, r.text
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    for word in words:
        assert word in r.text, (word, r.text)


@pytest.fixture
async def lenient_client(runtime: Runtime, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Like ``client``, but an unhandled error comes back as the app's 500 answer instead of raising here."""
    app = create_app(settings, lambda _s: None)  # type: ignore[arg-type,return-value]
    app.state.ctx = runtime.app
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_reports_as_an_agent_is_a_403_page(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(client, agent)
    r = await client.get("/reports", headers=BROWSER)
    assert_page_with_nav(r, 403, "Forbidden", "only leads and admins")


async def test_reports_for_a_json_client_stays_problem_json(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, tiers=(1,))
    r = await client.get("/reports", headers={**auth(token), "accept": "application/json"})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    r = await client.get("/api/v1/reports/sla", headers={**auth(token), **BROWSER})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


async def test_ticket_page_errors_are_pages_with_the_navigation(runtime: Runtime, client: httpx.AsyncClient) -> None:
    other_tier = await open_ticket(runtime, tier=3)
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(client, agent)
    assert_page_with_nav(await client.get("/ui/tickets/999999"), 404, "Not found", "ticket 999999 does not exist")
    assert_page_with_nav(await client.get(f"/ui/tickets/{other_tier}"), 403, "you do not work support tier 3")
    assert_page_with_nav(await client.get("/ui/tickets/not-a-number"), 422, "Please check")
    assert_page_with_nav(await client.get("/ui/no-such-page"), 404, "Not found")


async def test_an_unexpected_error_is_a_500_page(
    runtime: Runtime, lenient_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket_id = await open_ticket(runtime, tier=1)
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(lenient_client, agent)

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(views, "ticket_page", broken)
    r = await lenient_client.get(f"/ui/tickets/{ticket_id}")
    assert_page_with_nav(r, 500, "Something went wrong", "it has been logged")
    assert "a bug" not in r.text  # nothing internal leaks
    api = await lenient_client.get("/api/v1/tickets/abc", headers=BROWSER)
    assert api.headers["content-type"] == "application/problem+json"


async def test_signed_out_visitors_are_still_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    r = await client.get("/ui/tickets/1")
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
    r = await client.get("/reports", headers=BROWSER)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
