"""Web sessions end on the server: a cookie captured before sign-out, deactivation or a password change is
refused afterwards (the cookie only names a session row; ending the session deletes the row)."""

from __future__ import annotations

import copy

import httpx
from sqlmodel import func, select

from queues.runtime import Runtime
from router.agents import service as agents
from router.models.agents import Agent, WebSession
from router.settings import Settings
from router.unit_of_work import commit
from router.web import SESSION_COOKIE
from tests.test_cli import tierroute
from tests.web.helpers import PASSWORD, csrf_of, sign_in, web_agent


def captured(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another client (an attacker's) holding a copy of ``client``'s session cookie."""
    thief = httpx.AsyncClient(transport=client._transport, base_url="http://test")
    for cookie in client.cookies.jar:
        if cookie.name == SESSION_COOKIE:
            thief.cookies.jar.set_cookie(copy.copy(cookie))
    assert thief.cookies.get(SESSION_COOKIE)
    return thief


async def _change(runtime: Runtime, agent_id: int | None, change: str) -> None:
    async with runtime.app.sessionmaker() as s:
        agent = await s.get(Agent, agent_id)
        assert agent is not None
        if change == "deactivate":
            await agents.deactivate(s, agent)
        else:
            await agents.set_password(s, agent, "a brand new password")
        await commit(s, runtime.app.effects)


async def _sessions(runtime: Runtime) -> int:
    async with runtime.app.sessionmaker() as s:
        return int((await s.exec(select(func.count()).select_from(WebSession))).one())


async def test_a_cookie_captured_before_sign_out_is_refused_after_it(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    lead = await web_agent(runtime, role="lead", tiers=())
    csrf = await sign_in(client, lead)
    async with captured(client) as thief:
        assert (await thief.get("/ui/")).status_code == 200
        assert (await client.post("/ui/logout", data={"csrf_token": csrf})).status_code == 303
        r = await thief.get("/ui/")
        assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
        r = await thief.get("/reports")  # the report page reads the same session
        assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
        assert (await thief.get("/ui/login")).status_code == 200  # the stale cookie does not loop
    assert await _sessions(runtime) == 0


async def test_signing_out_ends_only_that_session(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await web_agent(runtime)
    other_device = httpx.AsyncClient(transport=client._transport, base_url="http://test")
    async with other_device:
        await sign_in(other_device, agent)
        csrf = await sign_in(client, agent)
        await client.post("/ui/logout", data={"csrf_token": csrf})
        assert (await other_device.get("/ui/")).status_code == 200


async def test_signing_in_again_replaces_the_browsers_session(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await web_agent(runtime)
    token = csrf_of((await client.get("/ui/login")).text)
    data = {"email": agent.email, "password": PASSWORD, "csrf_token": token}
    assert (await client.post("/ui/login", data=data)).status_code == 303
    async with captured(client) as earlier:
        csrf = csrf_of((await client.get("/ui/")).text)
        assert (await client.post("/ui/login", data={**data, "csrf_token": csrf})).status_code == 303
        assert (await earlier.get("/ui/")).status_code == 303
    assert await _sessions(runtime) == 1


async def test_deactivation_ends_the_agents_sessions(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await web_agent(runtime)
    await sign_in(client, agent)
    async with captured(client) as thief:
        await _change(runtime, agent.id, "deactivate")
        assert (await thief.get("/ui/")).status_code == 303
        assert (await client.get("/ui/")).status_code == 303
    assert await _sessions(runtime) == 0


async def test_a_password_change_ends_the_agents_sessions(runtime: Runtime, client: httpx.AsyncClient) -> None:
    agent = await web_agent(runtime)
    await sign_in(client, agent)
    async with captured(client) as thief:
        await _change(runtime, agent.id, "password")
        assert (await thief.get("/ui/")).status_code == 303
    token = csrf_of((await client.get("/ui/login")).text)
    old = await client.post("/ui/login", data={"email": agent.email, "password": PASSWORD, "csrf_token": token})
    assert old.status_code == 401
    await sign_in(client, agent, "a brand new password")


async def test_the_cli_deactivates_and_sets_passwords(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings
) -> None:
    agent = await web_agent(runtime)
    await sign_in(client, agent)
    env = {"TIERROUTE_AGENT_PASSWORD": "another fine password"}
    done = tierroute(settings, "agents", "set-password", agent.email, env=env)
    assert done.returncode == 0, done.stderr
    assert "signed out" in done.stdout
    assert (await client.get("/ui/")).status_code == 303
    await sign_in(client, agent, "another fine password")
    done = tierroute(settings, "agents", "deactivate", agent.email)
    assert done.returncode == 0, done.stderr
    assert (await client.get("/ui/")).status_code == 303
    missing = tierroute(settings, "agents", "deactivate", "nobody@support.example")
    assert missing.returncode == 2 and "no agent" in missing.stderr
