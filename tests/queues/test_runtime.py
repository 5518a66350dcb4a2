"""The runtime is the composition root: opening it wires the report's facts hooks into every session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from queues.runtime import Runtime, open_runtime
from router.reports import facts
from router.settings import Settings
from tests.conftest import auth, make_agent, ticket_json


@pytest.fixture
def without_facts_hooks() -> Iterator[None]:
    """Take the process-wide hooks off for one test, and put them back whatever happens."""
    facts.uninstall()
    try:
        yield
    finally:
        facts.install()


@pytest.mark.usefixtures("without_facts_hooks")
async def test_opening_the_runtime_installs_the_facts_hooks(redis_url: str, tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", redis_url=redis_url, data_dir=tmp_path
    )
    assert not facts.installed()
    async with open_runtime(settings, run_migrations=False):
        assert facts.installed()
    facts.install()  # a second install (another runtime in the process) adds nothing: one removal clears it
    facts.uninstall()
    assert not facts.installed()


async def _facts_rows(runtime: Runtime) -> int:
    async with runtime.app.sessionmaker() as session:
        count = await (await session.connection()).scalar(select(func.count()).select_from(facts.facts))
        return int(count or 0)


async def test_a_change_without_the_hooks_leaves_no_facts(runtime: Runtime, client: httpx.AsyncClient) -> None:
    """What the hooks are for, and what the facts tests (built on the runtime) would catch without them."""
    _, token = await make_agent(runtime)
    assert (await client.post("/api/v1/tickets", json=ticket_json(), headers=auth(token))).status_code == 202
    assert await _facts_rows(runtime) == 1
    facts.uninstall()
    try:
        assert (await client.post("/api/v1/tickets", json=ticket_json(), headers=auth(token))).status_code == 202
        assert await _facts_rows(runtime) == 1
    finally:
        facts.install()
