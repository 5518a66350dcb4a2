"""A server's start-up heap is frozen out of full garbage collections (``router/heap.py``): the app's lifespan
and a worker's start freeze it. Checked in a process of its own: freezing the test process's heap would keep
every later test's garbage alive."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_LIFESPAN = """
import asyncio, gc
from contextlib import asynccontextmanager
from router.app import create_app
from router.settings import Settings

@asynccontextmanager
async def context(_settings):
    yield object()

async def main():
    app = create_app(Settings(), context)
    before = gc.get_freeze_count()
    async with app.router.lifespan_context(app):
        during = gc.get_freeze_count()
        gc.collect()
        print(before, during, len(gc.get_objects(generation=2)))

asyncio.run(main())
"""


def test_the_app_lifespan_freezes_the_start_up_heap(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _LIFESPAN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "TIERROUTE_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    before, during, left = map(int, done.stdout.split())
    assert before == 0
    assert during > 50_000  # the app, FastAPI, SQLAlchemy, pydantic: all of it frozen
    assert left < during // 10  # what a full collection still walks is a small remainder
