"""Changes to an agent's access are in force on the very next API request, in every API process.

Each process keeps a token cache (no query per call); a change committed anywhere (another process, the
CLI) moves the credentials epoch in the shared Redis, and each cached entry is checked against it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from queues.credentials import RedisCredentialsEpoch
from queues.runtime import Runtime, open_runtime
from router.agents import service as agents
from router.agents.tokens import TokenLookup
from router.models.agents import Agent
from router.settings import Settings
from router.unit_of_work import commit
from tests.conftest import _empty_tables, auth, free_port, make_agent, one_backend, ticket_json
from tests.test_scale_out import wait_healthy


@pytest.fixture
async def two_apis(settings: Settings, private_redis: str, tmp_path: Path) -> AsyncIterator[tuple[list[str], Runtime]]:
    """``tierroute serve`` twice on the test's database and a Redis of the test's own, with a runtime of
    the test's on the same two (where the changes are made, as an admin's CLI would)."""
    own = settings.model_copy(update={"redis_url": private_redis})
    env = {
        **os.environ,
        "TIERROUTE_DATABASE_URL": own.effective_database_url,
        "TIERROUTE_REDIS_URL": private_redis,
        "TIERROUTE_DATA_DIR": str(tmp_path),
    }
    async with open_runtime(own, run_migrations=False) as rt:
        await _empty_tables(rt)
        ports = [free_port(), free_port()]
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "router.cli", "serve", "--port", str(port)],
                env=env,
                stdout=(tmp_path / f"api-{port}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            for port in ports
        ]
        try:
            yield [f"http://127.0.0.1:{port}" for port in ports], rt
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            await _empty_tables(rt)


async def _change(rt: Runtime, agent_id: int | None, change: Callable[..., Awaitable[object]], *args: object) -> None:
    async with rt.app.sessionmaker() as s:
        agent = await s.get(Agent, agent_id)
        assert agent is not None
        await change(s, agent, *args)
        await commit(s, rt.app.effects)


@pytest.mark.slow
@one_backend
async def test_demotion_revocation_and_deactivation_hold_on_the_next_request_in_every_process(
    two_apis: tuple[list[str], Runtime],
) -> None:
    bases, rt = two_apis
    lead, lead_token = await make_agent(rt, role="lead", tiers=())
    agent, agent_token = await make_agent(rt, tiers=(1,))
    async with httpx.AsyncClient(timeout=30) as client:
        for base in bases:
            await wait_healthy(client, base)

        async def status(base: str, token: str, path: str = "/api/v1/reports/sla") -> int:
            return (await client.get(f"{base}{path}", headers=auth(token))).status_code

        async def intake(base: str, token: str) -> int:
            r = await client.post(f"{base}/api/v1/tickets", json=ticket_json(), headers=auth(token))
            return r.status_code

        for base in bases:  # both processes have both tokens cached
            assert await status(base, lead_token) == 200
            assert await status(base, agent_token, "/api/v1/queues") == 200
            assert await intake(base, agent_token) == 202

        await _change(rt, lead.id, agents.set_role, "agent", [1])
        assert [await status(base, lead_token) for base in bases] == [403, 403], "a demoted lead is still a lead"

        await _change(rt, lead.id, agents.revoke_tokens)
        assert [await status(base, lead_token, "/api/v1/queues") for base in bases] == [401, 401]

        await _change(rt, agent.id, agents.deactivate)
        assert [await intake(base, agent_token) for base in bases] == [401, 401], "deactivated, still accepted"
        assert [await status(base, agent_token, "/api/v1/queues") for base in bases] == [401, 401]


@one_backend
async def test_the_epoch_is_new_after_a_redis_wipe(runtime: Runtime) -> None:
    """A random epoch, not a counter: entries cached before a wipe never match the one after it."""
    epochs = RedisCredentialsEpoch(runtime.pool)
    before = await epochs.current()
    assert before is not None and await epochs.current() == before
    await runtime.pool.flushdb()
    after = await epochs.current()
    assert after is not None and after != before


@one_backend
async def test_without_redis_every_request_asks_the_database(runtime: Runtime) -> None:
    agent, token = await make_agent(runtime)
    dead = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    lookup = TokenLookup(RedisCredentialsEpoch(dead))
    try:
        async with runtime.app.sessionmaker() as s:
            assert await lookup.agent(s, token) is not None
        await _change(runtime, agent.id, agents.revoke_tokens)  # the lookup reads no epoch: it trusts no cache
        async with runtime.app.sessionmaker() as s:
            assert await lookup.agent(s, token) is None
        assert await lookup.cached(token) is None
    finally:
        await dead.aclose()
