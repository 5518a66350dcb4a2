"""No request stalls the others: while a heavy mail is parsed or a report over all history is computed,
``/healthz`` on the same event loop keeps answering at once (the work runs off the loop)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

import httpx
import pytest

from queues.runtime import Runtime
from router.offload import SideLoop, TooSlow, in_thread
from tests.conftest import auth, make_agent, one_backend

#: A loop that answers within this long is not stalled (the machine is shared and busy).
RESPONSIVE_SECONDS = 0.5


def stall_limit(took: float) -> float:
    """The longest /healthz may wait: half a second, or a quarter of the heavy work on a machine so busy
    (the parallel suite) that the work itself took long. Work on the loop stalls it for all of ``took``."""
    return max(RESPONSIVE_SECONDS, took / 4)


async def healthz_while(
    client: httpx.AsyncClient, heavy: Awaitable[httpx.Response]
) -> tuple[httpx.Response, float, float]:
    """Run ``heavy`` and poll ``/healthz`` every 10 ms meanwhile: (its response, its duration, the longest
    a poll waited past its time, the wait for the loop included)."""
    task = asyncio.ensure_future(heavy)
    started = time.perf_counter()
    slowest = 0.0
    while not task.done():
        due = time.perf_counter()
        assert (await client.get("/healthz")).status_code == 200
        await asyncio.sleep(0.01)
        slowest = max(slowest, time.perf_counter() - due - 0.01)
    return await task, time.perf_counter() - started, slowest


@one_backend
async def test_healthz_answers_while_a_big_mail_is_parsed(runtime: Runtime, client: httpx.AsyncClient) -> None:
    """24 MB of short lines, within every limit: parsing them takes seconds of CPU."""
    _, token = await make_agent(runtime, role="lead", tiers=())
    raw = (
        b"From: Kim <kim@acme.example>\r\nTo: support@help.example\r\nSubject: Long log\r\n"
        b"Message-ID: <big@acme.example>\r\n\r\n" + b"sync error\r\n" * 2_000_000
    )
    heavy = client.post("/api/v1/intake/email", content=raw, headers={**auth(token), "Content-Type": "message/rfc822"})
    response, took, slowest = await healthz_while(client, heavy)
    assert response.status_code == 202, response.text
    assert took > 2 * RESPONSIVE_SECONDS, "the parse must be heavy enough to show a stall"
    assert slowest < stall_limit(took), f"/healthz waited {slowest:.2f} s while a {took:.2f} s parse ran"


@one_backend
async def test_healthz_answers_while_a_report_over_all_history_runs(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    heavy = client.get("/api/v1/reports/sla", params={"since": "0001-01-02T00:00:00Z"}, headers=auth(token))
    response, took, slowest = await healthz_while(client, heavy)
    assert response.status_code == 200, response.text
    assert took > 2 * RESPONSIVE_SECONDS, "the report must be heavy enough to show a stall"
    assert slowest < stall_limit(took), f"/healthz waited {slowest:.2f} s while a {took:.2f} s report ran"


async def test_work_over_its_time_limit_is_a_503_and_side_loop_work_is_cancelled() -> None:
    with pytest.raises(TooSlow) as slow:
        await in_thread(0.05, "reading the email", time.sleep, 1.0)
    assert slow.value.status == 503 and "did not finish within 0.05 s" in slow.value.detail

    side = SideLoop("test-side-loop")
    cancelled = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def endless() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            loop.call_soon_threadsafe(cancelled.set)
            raise

    with pytest.raises(TooSlow, match="choose a shorter window"):
        await side.run(0.05, "the report", endless(), hint="choose a shorter window")
    await asyncio.wait_for(cancelled.wait(), 5)
    assert await side.run(5, "a sum", asyncio.sleep(0, result=42), hint="") == 42
