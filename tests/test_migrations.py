"""Upgrading a SQLite database that already holds tickets (batch migrations rebuild referenced tables)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from router.db import MIGRATIONS_DIR, _prepare_sqlite, migrate


def test_a_populated_sqlite_database_upgrades_to_head(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    _prepare_sqlite(engine, foreign_keys=False)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ticket (subject, status, priority, requester_email, customer_tier, channel, source, tags,"
                " escalation_count, reopen_count, created_at, updated_at, audit_seq, audit_head)"
                " VALUES ('s', 'new', 'normal', 'a@b.example', 3, 'api', 'api', '[]', 0, 0,"
                " '2026-01-01', '2026-01-01', 0, '')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO message (ticket_id, direction, kind, author, body_text, created_at)"
                " VALUES (1, 'inbound', 'message', 'a', 'b', '2026-01-01')"
            )
        )
    engine.dispose()
    migrate(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ticket")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM message")).scalar() == 1
        assert conn.execute(text("PRAGMA foreign_key_check")).fetchall() == []
        assert conn.execute(text("SELECT auto_reply_suppressed FROM ticket")).scalar() == 0
        # The report's facts (0009) and their day roll-ups (0010) are backfilled from the existing ticket.
        assert conn.execute(text("SELECT ticket_id FROM report_ticket")).fetchall() == [(1,)]
        assert conn.execute(text("SELECT day, tickets_in FROM report_day")).fetchall() == [("2026-01-01", 1)]
    engine.dispose()


def test_the_migrations_build_what_the_models_declare(tmp_path: Path) -> None:
    """A table, column or index added to a model without its migration would be missing in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from router.db import include_name, migrate
    from router.models import metadata

    migrate(f"sqlite+aiosqlite:///{tmp_path / 'head.db'}")
    engine = create_engine(f"sqlite:///{tmp_path / 'head.db'}")
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_name": include_name})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()
