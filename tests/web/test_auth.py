"""Web sign-in: password check, session cookie, sign-out, throttling, CSRF on every form."""

from __future__ import annotations

import asyncio

import httpx

from queues.runtime import Runtime
from router.app import create_app
from router.settings import Settings
from router.web.signin import client_address
from tests.test_cli import tierroute
from tests.web.helpers import PASSWORD, csrf_of, sign_in, web_agent


async def test_pages_redirect_to_sign_in_and_back(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await web_agent(runtime)
    r = await client.get("/ui/queues/1?page=2")
    assert r.status_code == 303
    assert r.headers["location"] == "/ui/login?next=/ui/queues/1%3Fpage%3D2"
    form = await client.get(r.headers["location"])
    data = {"email": agent.email.upper(), "password": PASSWORD, "csrf_token": csrf_of(form.text)}
    r = await client.post(r.headers["location"], data=data)
    assert r.status_code == 303
    assert r.headers["location"] == "/ui/queues/1?page=2"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    signed_in = await client.get("/ui/queues/1?page=2", follow_redirects=True)  # empty queue: on to its page 1
    assert signed_in.status_code == 200 and signed_in.url.path == "/ui/queues/1"


async def test_htmx_requests_are_told_to_navigate_to_sign_in(client: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await client.get("/ui/", headers={"HX-Request": "true"})
    assert r.status_code == 204
    assert r.headers["hx-redirect"].startswith("/ui/login")


async def test_wrong_password_and_unknown_email_look_the_same(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await web_agent(runtime)
    token = csrf_of((await client.get("/ui/login")).text)
    wrong = await client.post("/ui/login", data={"email": agent.email, "password": "nope", "csrf_token": token})
    unknown = await client.post(
        "/ui/login", data={"email": "nobody@support.example", "password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "the email or the password is wrong" in wrong.text
    assert "the email or the password is wrong" in unknown.text
    assert (await client.get("/ui/")).status_code == 303


async def test_the_api_token_agent_without_password_cannot_sign_in(runtime: Runtime, client: httpx.AsyncClient) -> None:
    from tests.conftest import make_agent

    agent, _ = await make_agent(runtime)
    token = csrf_of((await client.get("/ui/login")).text)
    r = await client.post("/ui/login", data={"email": agent.email, "password": "", "csrf_token": token})
    assert r.status_code in (401, 422)
    assert (await client.get("/ui/")).status_code == 303


def client_at(runtime: Runtime, settings: Settings, address: str) -> httpx.AsyncClient:
    """A client of its own (no shared cookies) whose requests come from ``address``."""
    app = create_app(settings, lambda _s: None)  # type: ignore[arg-type,return-value]
    app.state.ctx = runtime.app
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _attempt(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    token = csrf_of((await client.get("/ui/login")).text)
    return await client.post("/ui/login", data={"email": email, "password": password, "csrf_token": token})


async def test_sign_in_is_throttled_per_email_and_address(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings
) -> None:
    agent = await web_agent(runtime)
    limit = runtime.app.settings.login_failures_per_email_and_ip
    token = csrf_of((await client.get("/ui/login")).text)
    for _ in range(limit):
        r = await client.post("/ui/login", data={"email": agent.email, "password": "guess", "csrf_token": token})
        assert r.status_code == 401
    # From this address even the right password is refused until the window ends.
    r = await client.post("/ui/login", data={"email": agent.email, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429
    assert 0 < int(r.headers["retry-after"]) <= runtime.app.settings.login_window_seconds
    assert "too many failed sign-ins" in r.text
    # Another agent behind the same address is not locked out yet (the per-address limit is higher).
    other = await web_agent(runtime)
    r = await client.post("/ui/login", data={"email": other.email, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303
    # And the victim, from their own address, still signs in: a stranger cannot lock an agent out.
    async with client_at(runtime, settings, "198.51.100.7") as victim:
        assert (await _attempt(victim, agent.email, PASSWORD)).status_code == 303
        assert (await victim.get("/ui/")).status_code == 200


async def test_parallel_wrong_passwords_are_counted_atomically(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings
) -> None:
    """30 wrong passwords at once for one email: exactly the limit's worth are checked, the rest get 429."""
    agent = await web_agent(runtime)
    limit = runtime.app.settings.login_failures_per_email_and_ip
    token = csrf_of((await client.get("/ui/login")).text)
    data = {"email": agent.email, "password": "guess", "csrf_token": token}
    answers = await asyncio.gather(*(client.post("/ui/login", data=data) for _ in range(30)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [401] * limit + [429] * (30 - limit), codes
    r = await client.post("/ui/login", data={**data, "password": PASSWORD})
    assert r.status_code == 429


async def test_a_softer_limit_per_email_stops_guessing_from_many_addresses(
    runtime: Runtime, settings: Settings
) -> None:
    runtime.app.settings.login_failures_per_email = 6
    agent = await web_agent(runtime)
    for i in range(3):
        async with client_at(runtime, settings, f"203.0.113.{i + 1}") as attacker:
            for _ in range(2):
                assert (await _attempt(attacker, agent.email, "guess")).status_code == 401
    async with client_at(runtime, settings, "203.0.113.99") as anyone:
        r = await _attempt(anyone, agent.email, PASSWORD)
        assert r.status_code == 429 and "too many failed sign-ins" in r.text


async def test_a_successful_sign_in_does_not_use_up_attempts(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await web_agent(runtime)
    limit = runtime.app.settings.login_failures_per_email_and_ip
    for _ in range(limit + 3):
        assert (await _attempt(client, agent.email, PASSWORD)).status_code == 303
        client.cookies.clear()
    for _ in range(limit - 1):
        assert (await _attempt(client, agent.email, "guess")).status_code == 401
    assert (await _attempt(client, agent.email, PASSWORD)).status_code == 303


def test_an_ipv6_client_counts_by_its_64() -> None:
    assert client_address("2001:db8:1:2::17") == client_address("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert client_address("2001:db8:1:3::1") != client_address("2001:db8:1:2::1")
    assert client_address("::ffff:192.0.2.7") == client_address("192.0.2.7") == "192.0.2.7"
    assert client_address("unknown") == "unknown"


async def test_sign_in_is_throttled_per_address(runtime: Runtime, client: httpx.AsyncClient) -> None:
    runtime.app.settings.login_failures_per_ip = 3
    try:
        agent = await web_agent(runtime)
        token = csrf_of((await client.get("/ui/login")).text)
        for i in range(3):
            r = await client.post(
                "/ui/login", data={"email": f"x{i}@support.example", "password": "guess", "csrf_token": token}
            )
            assert r.status_code == 401
        r = await client.post("/ui/login", data={"email": agent.email, "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 429
    finally:
        runtime.app.settings.login_failures_per_ip = 20


async def test_sign_out_ends_the_session(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await web_agent(runtime)
    token = await sign_in(client, agent)
    r = await client.post("/ui/logout", data={"csrf_token": token})
    assert r.status_code == 303
    assert (await client.get("/ui/")).status_code == 303


async def test_forms_without_the_csrf_token_get_403(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await web_agent(runtime, tiers=(1,))
    token = await sign_in(client, agent)
    for data in ({}, {"csrf_token": "forged"}):
        r = await client.post("/ui/queues/1/claim", data=data)
        assert r.status_code == 403
        assert "security token" in r.text
        assert r.headers["content-type"].startswith("text/html")
    r = await client.post("/ui/logout", data={})
    assert r.status_code == 403
    # The login form is protected too (login CSRF).
    fresh = httpx.AsyncClient(transport=client._transport, base_url="http://test")
    async with fresh:
        r = await fresh.post("/ui/login", data={"email": agent.email, "password": PASSWORD})
        assert r.status_code == 403
    # The header htmx sends works like the field.
    r = await client.post("/ui/queues/1/claim", headers={"X-CSRF-Token": token})
    assert r.status_code == 303


async def test_the_api_keeps_problem_json(runtime: Runtime, client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/queues")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


async def test_agents_add_with_a_password_can_sign_in(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings
) -> None:
    env = {"TIERROUTE_AGENT_PASSWORD": "s3cret-enough"}
    done = tierroute(settings, "agents", "add", "--name", "Wes", "--email", "wes@support.example", env=env)
    assert done.returncode == 0, done.stderr
    assert "web UI sign-in enabled" in done.stdout
    short = tierroute(settings, "agents", "add", "--name", "X", "--email", "x@support.example", "--password", "short")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    token = csrf_of((await client.get("/ui/login")).text)
    data = {"email": "wes@support.example", "password": "s3cret-enough", "csrf_token": token}
    assert (await client.post("/ui/login", data=data)).status_code == 303
