"""A claim whose answer is lost: the API process is SIGKILLed after the claim committed and before the
client read the answer. Retried with the same ``Idempotency-Key`` against a restarted API, the claim
answers the ticket it took; nothing new is claimed and the ticket has one ``claimed`` event (issue 16
item 11). Real processes: ``tierroute serve`` killed and started again."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, select

from queues.runtime import Runtime
from router.models.audit import AuditEvent
from router.models.tickets import Status, Ticket
from router.settings import Settings
from tests.conftest import free_port, make_agent, one_backend
from tests.web.helpers import open_ticket


def _serve(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TIERROUTE_DATABASE_URL": settings.effective_database_url,
        "TIERROUTE_REDIS_URL": str(settings.redis_url),
        "TIERROUTE_DATA_DIR": str(settings.data_dir),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "router.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def _healthy(base: str) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{base} did not start")


async def _claimed(runtime: Runtime) -> list[int]:
    async with runtime.app.sessionmaker() as s:
        rows = await s.exec(select(Ticket.id).where(Ticket.status == Status.in_progress))
        return [int(i) for i in rows.all() if i is not None]


@pytest.mark.slow
@one_backend
async def test_a_claim_retried_after_the_api_died_returns_the_ticket_it_took(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    first, second = [await open_ticket(runtime, subject=f"Question {i}", tier=1) for i in range(2)]
    _, token = await make_agent(runtime, tiers=(1,))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "api.log"
    api = _serve(settings, port, log)
    try:
        await _healthy(base)
        request = (
            f"POST /api/v1/queues/1/claim HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Idempotency-Key: lost-answer-1\r\nContent-Length: 0\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(request.encode())
            deadline = time.monotonic() + 30
            while not await _claimed(runtime):  # committed: now the process dies, the answer unread
                assert time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.005)
            api.send_signal(signal.SIGKILL)
            api.wait(timeout=10)
        assert await _claimed(runtime) == [first]  # in progress under an agent who never saw it

        api = _serve(settings, port, log)
        await _healthy(base)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "lost-answer-1"}
            retry = await client.post("/api/v1/queues/1/claim", headers=headers)
        assert retry.status_code == 200, retry.text
        assert retry.json()["id"] == first
        assert retry.headers["idempotent-replayed"] == "true"
        assert await _claimed(runtime) == [first]  # the second ticket still waits
        async with runtime.app.sessionmaker() as s:
            events = (await s.exec(select(AuditEvent.ticket_id).where(col(AuditEvent.action) == "claimed"))).all()
        assert list(events) == [first]
        assert second not in await _claimed(runtime)
    finally:
        api.terminate()
        try:
            api.wait(timeout=20)
        except subprocess.TimeoutExpired:
            api.kill()
