"""Database engine, sessions and migrations (SQLite file by default, PostgreSQL by URL)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.kb import KB_SEARCH_TABLE
from router.models.workspace import SEARCH_TABLE_PREFIX

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Any constant works; it only has to be the same in every process that migrates.
_MIGRATION_LOCK_KEY = 7_311_946_288


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite(engine: Engine, *, foreign_keys: bool = True, read_only: bool = False) -> None:
    """WAL, a busy timeout and ``BEGIN IMMEDIATE``: several processes write one file without deadlocks.

    pysqlite opens transactions lazily and upgrades read locks to write locks, which fails at once
    (``database is locked``) when two writers meet; taking the write lock at BEGIN lets them queue.
    A ``read_only`` engine begins plain (deferred) transactions: a reader in WAL mode never waits for the
    writer, so it can read while a request of the same process holds the write lock.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Migrations run with foreign keys off: batch mode rebuilds tables (copy, drop, rename), and dropping
        # a table others reference fails while they are on (Alembic's advice for SQLite).
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        try:
            cursor.execute("SELECT ln(1), floor(1.5)")
        except Exception:  # an SQLite built without its math functions: the report's buckets need these two
            dbapi_connection.create_function("ln", 1, math.log, deterministic=True)
            dbapi_connection.create_function("floor", 1, math.floor, deterministic=True)
        cursor.close()

    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


def _ensure_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str, *, read_only: bool = False) -> AsyncEngine:
    """``read_only``: an engine only for reading (SQLite: see ``_prepare_sqlite``)."""
    if is_sqlite(url):
        _ensure_sqlite_dir(url)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _prepare_sqlite(engine.sync_engine, read_only=read_only)
        return engine
    # No pool_pre_ping: it costs a round trip per transaction; a connection found dead raises a
    # disconnect error, SQLAlchemy drops the whole pool, and the request answers 503 (retry).
    return create_async_engine(url, pool_size=20, max_overflow=20, pool_recycle=1800)


def make_sessionmaker(engine: AsyncEngine, info: dict[str, Any] | None = None) -> async_sessionmaker[AsyncSession]:
    """``info`` is copied into every session (the SLA policy provider travels that way). The report's facts
    hooks are not installed here: the composition root does it (``router.reports.facts.install``)."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, info=info)


def sync_url(url: str) -> str:
    """The same database for a blocking driver (Alembic runs synchronously)."""
    return url.replace("sqlite+aiosqlite://", "sqlite://")


def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Alembic compares only what models declare: the full-text indexes (``ticket_search*`` and
    ``kb_article_search*``: FTS5 and its shadow tables, or the tsvector table) are the database's own, built by
    migrations 0018 and 0024."""
    return not (type_ == "table" and name is not None and name.startswith((SEARCH_TABLE_PREFIX, KB_SEARCH_TABLE)))


def migrate(url: str, **attributes: Any) -> None:
    """Bring the schema to the newest revision; safe when several processes start at once. ``attributes``
    reach the migrations (``audit_keyring``: the key ``keyed_audit_chain`` seals the existing audit chains with)."""
    if is_sqlite(url):
        _ensure_sqlite_dir(url)
    engine = create_engine(sync_url(url))
    if is_sqlite(url):
        _prepare_sqlite(engine, foreign_keys=False)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            cfg.attributes.update(attributes, connection=connection)
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()


async def flush_unique(session: AsyncSession, conflict: Exception) -> None:
    """Flush, and raise ``conflict`` (a domain error saying what is taken) when a unique key refuses the rows:
    another transaction took the email, reference or domain between our check and our insert. The
    transaction is spoiled then; the edge rolls it back."""
    from sqlalchemy.exc import IntegrityError

    try:
        await session.flush()
    except IntegrityError:
        raise conflict from None


async def insert_ignoring(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    """Many rows in one ``INSERT ... ON CONFLICT DO NOTHING`` (rows already there are left as they are).
    Give the rows in key order: two transactions inserting overlapping keys then lock them in one order."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # Executemany of one cached statement (psycopg pipelines the rows): a multi-row VALUES would be compiled
    # afresh for every number of rows.
    connection = await session.connection()
    await connection.execute(insert(table).on_conflict_do_nothing(), rows)
