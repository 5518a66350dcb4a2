"""CPU-heavy work off the request event loop, with a time limit, so one request never stalls the others.

Two shapes of work:

* ``in_thread``: a plain function (parsing a big email) in a small pool of threads. Python code holds the
  GIL, but the interpreter hands it back to the loop every few milliseconds, so the loop stays responsive.
* ``SideLoop.run``: async work that mixes database reads with heavy Python (the SLA report over a long
  window) on a second event loop in a thread of its own, with reading engines of its own (an engine's connections
  belong to the loop that opened them). Its time limit cancels it at its next ``await``.

Light work stays on the loop: a hand-off costs a thread switch (``tests/test_no_thread_pool.py`` keeps
routes and dependencies from paying it on every request); callers offload only what can be heavy.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from router.db import make_engine
from router.errors import Unavailable

T = TypeVar("T")
P = ParamSpec("P")

#: Two threads: heavy requests queue for them rather than multiply; the loop keeps its share of the CPU.
_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tierroute-cpu")


class TooSlow(Unavailable):
    """The work did not finish within its time limit (503: the server is busy, or the input too big)."""


async def in_thread(seconds: float, what: str, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``function(*args, **kwargs)`` in the CPU pool; ``TooSlow`` after ``seconds`` (the thread finishes
    its work in the background: a thread cannot be stopped, so what runs there must have limits of its own)."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(_threads, lambda: function(*args, **kwargs))
    try:
        return await asyncio.wait_for(future, seconds)
    except TimeoutError:
        raise TooSlow(f"{what} did not finish within {seconds:g} s; try again later", retry_after=5) from None


class SideLoop:
    """A second event loop in a daemon thread, started on first use, with its own database engines."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engines: dict[str, AsyncEngine] = {}
        self._lock = threading.Lock()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name=self.name, daemon=True).start()
                self._loop = loop
            return self._loop

    def reader_like(self, engine: AsyncEngine) -> AsyncEngine:
        """An engine of this loop for reading the database of ``engine``; call it from work run here."""
        url = engine.url.render_as_string(hide_password=False)
        if url not in self._engines:
            self._engines[url] = make_engine(url, read_only=True)
        return self._engines[url]

    async def run(self, seconds: float, what: str, work: Coroutine[Any, Any, T], *, hint: str) -> T:
        """Run ``work`` on the side loop; ``TooSlow`` (with ``hint``: what to do) after ``seconds``, and
        ``work`` is cancelled. Cancelling the caller (a client gone) cancels ``work`` too."""
        future = asyncio.run_coroutine_threadsafe(work, self._running_loop())
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), seconds)
        except TimeoutError:
            future.cancel()
            raise TooSlow(f"{what} did not finish within {seconds:g} s; {hint}", retry_after=5) from None
