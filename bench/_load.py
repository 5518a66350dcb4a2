"""Load generators for the intake benchmarks: a closed loop (N requests in flight) and an open loop (a
fixed arrival rate).

A closed loop hides latency: when the server slows down, the client sends less. The open loop sends
request ``i`` at ``t0 + i / rate`` whatever happened to the earlier ones, and counts each latency from
that due time, so time spent waiting for a free connection or for the server is never left out
("coordinated omission").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

P = TypeVar("P")
#: Sends one payload; answers the HTTP status (``-1`` for a transport error).
Send = Callable[[dict[str, Any]], Awaitable[int]]


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    t_first: float = 0.0
    t_last: float = 0.0
    #: Open loop only: the arrival rate asked for, and how many requests were sent later than due
    #: (the client itself could not keep up: then the figures describe the client, not the server).
    offered_rate: float | None = None
    late_sends: int = 0

    def record(self, status: int, latency: float) -> None:
        self.latencies.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    @property
    def achieved_rate(self) -> float:
        """Accepted requests per second, from the first send to the last answer."""
        span = self.t_last - self.t_first
        return self.statuses.get(202, 0) / span if span > 0 else float("nan")


async def closed_loop(
    send: Callable[[P], Awaitable[int]], payloads: list[P], concurrency: int, deadline: float
) -> LoadResult:
    """Every payload, ``concurrency`` requests in flight: each sender posts its next as soon as one answers."""
    result = LoadResult()
    next_index = 0

    async def sender() -> None:
        nonlocal next_index
        while next_index < len(payloads) and time.monotonic() < deadline:
            payload = payloads[next_index]
            next_index += 1
            t = time.perf_counter()
            status = await send(payload)
            result.record(status, time.perf_counter() - t)

    result.t_first = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    result.t_last = time.perf_counter()
    return result


async def open_loop(send: Callable[[P], Awaitable[int]], payloads: list[P], rate: float, deadline: float) -> LoadResult:
    """Every payload at a fixed arrival rate; latency from each request's due time to its answer."""
    if rate <= 0:
        raise ValueError("the arrival rate must be above 0")
    result = LoadResult(offered_rate=rate)
    tasks: list[asyncio.Task[None]] = []

    async def one(payload: P, due: float) -> None:
        status = await send(payload)
        done = time.perf_counter()
        result.record(status, done - due)
        result.t_last = max(result.t_last, done)

    result.t_first = t0 = time.perf_counter()
    for i, payload in enumerate(payloads):
        if time.monotonic() >= deadline:
            break
        due = t0 + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        elif wait < -0.001:
            result.late_sends += 1
        tasks.append(asyncio.create_task(one(payload, due)))
    await asyncio.gather(*tasks)
    return result
