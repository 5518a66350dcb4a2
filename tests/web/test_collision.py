"""Collision detection (issue 17 item 7): who else has a ticket open or is typing (server-sent events,
presence in Redis only), a reply from a page older than the ticket's last change held for confirmation
(409 page), and the API's ``If-Match`` precondition (412)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
from redis.asyncio import Redis

from queues.live_bus import RedisLiveBus
from queues.names import redis_db
from queues.runtime import Runtime
from router.effects import live
from router.models.agents import Agent
from router.tickets import service as tickets
from router.tickets.actors import Actor
from router.tickets.inputs import MailDetails
from router.unit_of_work import commit
from router.web import streams
from tests.conftest import auth, make_agent, one_backend
from tests.web.helpers import csrf_of, load, open_ticket, sign_in, web_agent

_VERSION = re.compile(r'name="version" value="(\d+)"')


async def _customer_writes(rt: Runtime, ticket_id: int) -> None:
    async with rt.app.sessionmaker() as s:
        ticket = await tickets.get(s, ticket_id, lock=True)
        await tickets.add_inbound(
            s, ticket, author="pat@customer.example", body="Never mind, fixed.", mail=MailDetails()
        )
        await commit(s, rt.app.effects)


async def test_a_reply_from_a_stale_page_asks_for_confirmation(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime, tier=1)
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(client, agent)
    html = (await client.get(f"/ui/tickets/{ticket_id}")).text
    found = _VERSION.search(html)
    assert found, "the reply form carries the ticket's version"
    form = {"csrf_token": csrf_of(html), "body": "Try clearing the cache.", "kind": "reply", "version": found[1]}

    await _customer_writes(runtime, ticket_id)  # the ticket changes while the agent types
    held = await client.post(f"/ui/tickets/{ticket_id}/messages", data=form)
    assert held.status_code == 409
    assert "changed since you opened it" in held.text and "customer replied" in held.text
    assert "Try clearing the cache." in held.text and 'name="confirmed" value="true"' in held.text
    assert not [m for m in await _messages(runtime, ticket_id) if m == "Try clearing the cache."]

    confirm = {**form, "version": _VERSION.search(held.text)[1], "confirmed": "true"}  # type: ignore[index]
    sent = await client.post(f"/ui/tickets/{ticket_id}/messages", data=confirm)
    assert sent.status_code == 303
    assert "Try clearing the cache." in await _messages(runtime, ticket_id)

    fresh = (await client.get(f"/ui/tickets/{ticket_id}")).text  # a current page sends without asking
    current = {**form, "csrf_token": csrf_of(fresh), "version": _VERSION.search(fresh)[1], "body": "Done."}  # type: ignore[index]
    assert (await client.post(f"/ui/tickets/{ticket_id}/messages", data=current)).status_code == 303


async def _messages(rt: Runtime, ticket_id: int) -> list[str]:
    from router.tickets import queries

    async with rt.app.sessionmaker() as s:
        return [m.body_text for m in await queries.messages(s, ticket_id)]


async def test_the_api_takes_if_match_with_the_tickets_etag(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime, tier=1)
    _, token = await make_agent(runtime, tiers=(1,))
    read = await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token))
    etag = read.headers["etag"]
    assert etag.startswith(f'"{ticket_id}-') and not etag.startswith("W/")

    await _customer_writes(runtime, ticket_id)
    note, url = {"body": "checking", "internal": True}, f"/api/v1/tickets/{ticket_id}/messages"
    stale = await client.post(url, json=note, headers=auth(token) | {"If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert stale.json()["etag"] != etag
    assert "checking" not in await _messages(runtime, ticket_id)

    current = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token))).headers["etag"]
    ok = await client.post(url, json=note, headers=auth(token) | {"If-Match": current})
    assert ok.status_code == 201
    assert (await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token))).headers["etag"] != current
    anyway = await client.post(url, json=note, headers=auth(token))
    assert anyway.status_code == 201  # the precondition is optional
    starred = await client.post(f"/api/v1/tickets/{ticket_id}/wait", json={}, headers=auth(token) | {"If-Match": "*"})
    assert starred.status_code == 200


async def _events(stream: AsyncIterator[str], name: str, *, within: float = 5.0) -> dict[str, Any]:
    """The data of the stream's next ``name`` event."""

    async def find() -> dict[str, Any]:
        async for chunk in stream:
            if f"event: {name}\n" in chunk.split("data: ", 1)[0]:  # after an "id:" line, if any
                return dict(json.loads(chunk.split("data: ", 1)[1]))
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(find(), timeout=within)


def _stream(rt: Runtime, agent: Agent, ticket_id: int | None) -> AsyncIterator[str]:
    return streams.page_events(
        rt.app.live, rt.app.tier_queue, streams.Viewer.of(agent), tiers=[], ticket_id=ticket_id, poll_seconds=0.05
    )


@one_backend
async def test_each_viewer_sees_who_else_is_viewing_and_typing(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime, tier=1)
    ada = await web_agent(runtime, tiers=(1,), name="Ada")
    bob = await web_agent(runtime, tiers=(1,), name="Bob")
    ada_stream = _stream(runtime, ada, ticket_id)
    assert (await _events(ada_stream, "presence"))["others"] == []
    bob_stream = _stream(runtime, bob, ticket_id)  # streams run as they are read: Bob's page opens now
    assert [p["name"] for p in (await _events(bob_stream, "presence"))["others"]] == ["Ada"]
    assert (await _events(ada_stream, "presence"))["others"] == [{"agent_id": bob.id, "name": "Bob", "typing": False}]

    token = await sign_in(client, bob)
    typed = await client.post(f"/ui/tickets/{ticket_id}/typing", headers={"X-CSRF-Token": token})
    assert typed.status_code == 204
    assert (await _events(ada_stream, "presence"))["others"] == [{"agent_id": bob.id, "name": "Bob", "typing": True}]

    await bob_stream.aclose()  # Bob leaves the page: Ada sees him go, and Redis forgets him
    assert (await _events(ada_stream, "presence"))["others"] == []
    assert [p.name for p in await runtime.app.live.who(ticket_id)] == ["Ada"]
    await ada_stream.aclose()
    assert await runtime.app.live.who(ticket_id) == []


@one_backend
async def test_a_viewer_hears_of_changes_and_loses_a_ticket_that_leaves_their_tiers(runtime: Runtime) -> None:
    ticket_id = await open_ticket(runtime, tier=1)
    ada = await web_agent(runtime, tiers=(1,), name="Ada")
    stream = _stream(runtime, ada, ticket_id)
    await _events(stream, "presence")
    await _customer_writes(runtime, ticket_id)
    changed = await _events(stream, "changed")
    assert changed["action"] == "customer_replied" and changed["version"] > "0"
    async with runtime.app.sessionmaker() as s:
        ticket = await tickets.get(s, ticket_id, lock=True)
        await tickets.escalate(s, ticket, Actor.system(), reason="needs an engineer", to_tier=2)
        await commit(s, runtime.app.effects)
    assert await _events(stream, "gone") == {"support_tier": 2}
    assert [c async for c in stream] == []  # the stream ended
    assert await runtime.app.live.who(ticket_id) == []


@one_backend
async def test_nobody_watches_a_ticket_of_a_tier_they_may_not_see(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime, tier=2)
    outsider = await web_agent(runtime, tiers=(1,))
    token = await sign_in(client, outsider)
    assert (await client.get(f"/ui/events?ticket={ticket_id}")).status_code == 403
    assert (await client.post(f"/ui/tickets/{ticket_id}/typing", headers={"X-CSRF-Token": token})).status_code == 403
    assert (await client.get("/ui/events?ticket=999999")).status_code == 404
    assert await runtime.app.live.who(ticket_id) == []
    assert (await load(runtime, ticket_id)).support_tier == 2

    # A notice about a tier the agent may not see never leaves the stream, even if one were published.
    assert outsider.id is not None
    stream = _stream(runtime, outsider, None)
    assert await anext(stream) == "retry: 3000\n\n"
    hidden = live(f"agent:{outsider.id}", "notification", {"id": 1, "kind": "assigned", "support_tier": 2})
    shown = live(f"agent:{outsider.id}", "notification", {"id": 2, "kind": "assigned", "support_tier": 1})
    reading = asyncio.create_task(_events(stream, "notification"))
    await asyncio.sleep(0.3)  # the stream has subscribed
    await runtime.app.effects.apply([hidden, shown])
    assert (await reading)["id"] == 2
    await stream.aclose()


@one_backend
async def test_live_messages_reach_streams_of_another_process(runtime: Runtime, redis_url: str) -> None:
    """Another API process has its own Redis connection: what one process's commit publishes, it hears."""
    other = Redis.from_url(redis_url)
    try:
        async with RedisLiveBus(other).listen(["ticket:7"]) as listener:
            await runtime.app.effects.apply([live("ticket:7", "changed", {"version": "1", "support_tier": 1})])
            message = await listener.next(3)
    finally:
        await other.aclose()
    assert message == {"event": "changed", "version": "1", "support_tier": 1, "topic": "ticket:7"}


@one_backend
async def test_an_installation_on_another_redis_database_hears_nothing(runtime: Runtime, redis_url: str) -> None:
    """Pub/sub ignores Redis database numbers: two installations sharing a Redis server on databases of
    their own must not hear each other's tickets or agents (ids no other test uses: the neighbour's
    database may be another test worker's)."""
    db = redis_db(runtime.pool)
    neighbour = Redis.from_url(redis_url)  # the URL names this installation's database: point it elsewhere
    neighbour.connection_pool.connection_kwargs["db"] = (db + 1) % 16
    try:
        async with RedisLiveBus(neighbour).listen(["ticket:987654", "agent:987654"]) as listener:
            await runtime.app.effects.apply([live("ticket:987654", "changed", {"version": "1", "support_tier": 1})])
            await runtime.app.live.publish("agent:987654", '{"event": "notification"}')
            assert await listener.next(1) is None
    finally:
        await neighbour.aclose()


async def test_a_held_reply_asks_for_its_files_again(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime, tier=1)
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(client, agent)
    html = (await client.get(f"/ui/tickets/{ticket_id}")).text
    form = {"csrf_token": csrf_of(html), "body": "Log attached.", "kind": "reply", "version": _VERSION.search(html)[1]}  # type: ignore[index]
    await _customer_writes(runtime, ticket_id)
    held = await client.post(
        f"/ui/tickets/{ticket_id}/messages", data=form, files=[("files", ("debug.log", b"trace", "text/plain"))]
    )
    assert held.status_code == 409
    assert "Attach your files again" in held.text and "debug.log" in held.text
    assert 'enctype="multipart/form-data"' in held.text and "Log attached." not in await _messages(runtime, ticket_id)


@one_backend
async def test_a_stream_ends_quietly_when_redis_is_away(runtime: Runtime) -> None:
    """No traceback and no hang: the stream ends and the browser reconnects (``retry: 3000``)."""
    ticket_id = await open_ticket(runtime, tier=1)
    ada = await web_agent(runtime, tiers=(1,))
    away = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        stream = streams.page_events(
            RedisLiveBus(away), runtime.app.tier_queue, streams.Viewer.of(ada), tiers=[], ticket_id=ticket_id,
            poll_seconds=0.05,
        )  # fmt: skip
        assert await asyncio.wait_for(_all(stream), timeout=5) == ["retry: 3000\n\n"]
    finally:
        await away.aclose()


async def _all(stream: AsyncIterator[str]) -> list[str]:
    return [chunk async for chunk in stream]
