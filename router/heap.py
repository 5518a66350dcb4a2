"""A long-running process's start-up heap, kept out of Python's full garbage collections.

After start-up an API or worker process holds a quarter of a million long-lived objects: the app's routes
and their dependency graphs, SQLAlchemy's mappers, pydantic's validators, the templates. Every full
(generation 2) collection walks them all, and on this project's 2-core machine that is a 150-200 ms pause
that every request in flight waits through: the isolated 150-200 ms outliers ``bench/workspace.py`` saw in
its views' p99. ``gc.freeze()`` moves them to the permanent generation, which collections skip (the
technique the CPython documentation gives for long-lived servers); what the process makes afterwards is
collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect the start-up's garbage, then freeze what is left; returns how many objects are frozen.

    Garbage frozen with the rest would never be freed, so it is collected first. Called once the process
    has built everything it keeps (the app's lifespan, a worker's start), never from tests' own process."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
