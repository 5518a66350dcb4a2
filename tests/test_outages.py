"""Outages answer clearly: 503 problems with Retry-After, and workers stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx

from queues.runtime import Runtime
from queues.tier_queue import RedisTierQueue
from router.app import create_app
from router.db import make_engine, make_sessionmaker
from router.settings import Settings
from tests.conftest import auth, free_port, make_agent, one_backend, ticket_json


def client_for(runtime: Runtime, settings: Settings, **changes: object) -> httpx.AsyncClient:
    app = create_app(settings, lambda _s: None)  # type: ignore[arg-type,return-value]
    app.state.ctx = replace(runtime.app, **changes)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@one_backend
async def test_database_down_is_a_503_problem(runtime: Runtime, settings: Settings) -> None:
    _, token = await make_agent(runtime)
    dead = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")
    try:
        async with client_for(runtime, settings, engine=dead, sessionmaker=make_sessionmaker(dead)) as client:
            r = await client.post("/api/v1/tickets", json=ticket_json(), headers=auth(token))
            assert r.status_code == 503
            assert r.headers["content-type"] == "application/problem+json"
            assert r.headers["retry-after"] == "5"
            assert "nothing was changed" in r.json()["detail"]
            assert (await client.get("/readyz")).status_code == 503
    finally:
        await dead.dispose()


@one_backend
async def test_redis_down_claim_is_a_503_problem(runtime: Runtime, settings: Settings) -> None:
    from redis.asyncio import Redis

    _, token = await make_agent(runtime, tiers=(1,))
    dead = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    try:
        async with client_for(runtime, settings, tier_queue=RedisTierQueue(dead)) as client:
            r = await client.post("/api/v1/queues/1/claim", headers=auth(token))
            assert r.status_code == 503
            assert r.headers["retry-after"] == "5"
            ready = (await client.get("/readyz")).json()
            assert ready["ready"] is False and ready["checks"]["redis"].startswith("error")
    finally:
        await dead.aclose()


@one_backend
def test_worker_stops_cleanly_on_sigterm(settings: Settings, private_redis: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TIERROUTE_DATABASE_URL": settings.effective_database_url,
        "TIERROUTE_REDIS_URL": private_redis,
        "TIERROUTE_DATA_DIR": str(tmp_path),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "router.cli", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    import redis

    r = redis.Redis.from_url(private_redis)
    while time.monotonic() < deadline and not r.exists("tierroute:arq:route:health-check"):
        time.sleep(0.1)
    assert r.exists("tierroute:arq:route:health-check"), "worker did not start"
    worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=20)
    assert worker.returncode == 0, output
    assert "workers stopped" in output
    assert not r.exists("tierroute:arq:route:health-check")  # arq's close ran
