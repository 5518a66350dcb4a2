"""Start the slowest tests first on every xdist worker, so a 30 s fault test does not begin in the last minute.

``--dist worksteal`` first hands each of the ``n`` workers one contiguous slice of the collection (the first
``N // n`` items, then a fair share of what is left, and so on), and idle workers later steal from the end of
the longest queue. A test that takes half a minute and happens to sit near the end of a slice then runs last,
while the other workers have nothing left: the suite waits for it alone.

So each slice begins with its share of the slow tests (dealt out longest first to the slice with the least
slow time so far), followed by the other tests in their usual order, which keeps the two backends grouped.
How long a test takes comes from the last run (``pytest --cache-show tierroute/durations``; every run records
what it ran), else from ``tests/durations.json`` (the slowest of a full ``make test``, for a fresh checkout),
else from the ``slow`` marker. All workers compute the same order from the same cache, as xdist
requires.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

#: Where the durations of the last runs are kept in pytest's cache (``.pytest_cache``).
CACHE_KEY = "tierroute/durations"
#: What a ``@pytest.mark.slow`` test is assumed to take when no run has recorded it.
SLOW_MARKER_SECONDS = 10.0
#: Tests expected to take this long or longer lead the slices.
SLOW_SECONDS = 2.0

#: The slowest tests of a full run, by test id, for a checkout whose cache has recorded none yet.
SEED = Path(__file__).with_name("durations.json")

T = TypeVar("T")


def seed_durations() -> dict[str, float]:
    seeded: dict[str, float] = json.loads(SEED.read_text())
    return seeded


def worksteal_slice_sizes(total: int, workers: int) -> list[int]:
    """The sizes of xdist's first hand-out: worker ``i`` gets ``remaining // (workers - i)`` items."""
    sizes = []
    remaining = total
    for i in range(workers):
        size = remaining // (workers - i)
        sizes.append(size)
        remaining -= size
    return sizes


def slow_first(items: Sequence[T], seconds: Mapping[int, float], workers: int) -> list[T]:
    """``items`` reordered so each worker's first slice starts with its share of the slow ones.

    ``seconds`` maps an item's index to its expected duration (absent: fast).
    """
    slow = sorted((i for i in range(len(items)) if seconds.get(i, 0.0) >= SLOW_SECONDS), key=lambda i: (-seconds[i], i))
    if workers < 2 or not slow:
        return list(items)
    sizes = worksteal_slice_sizes(len(items), workers)
    heads: list[list[int]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    for index in slow:
        target = min((w for w in range(workers) if len(heads[w]) < sizes[w]), key=lambda w: (loads[w], w))
        heads[target].append(index)
        loads[target] += seconds[index]
    taken = set(slow)
    rest = iter(i for i in range(len(items)) if i not in taken)
    order: list[int] = []
    for head, size in zip(heads, sizes, strict=True):
        order.extend(head)
        order.extend(next(rest) for _ in range(size - len(head)))
    return [items[i] for i in order]
