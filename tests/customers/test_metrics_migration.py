"""Migration 0022 upgrades a database whose ``customer_metric`` and tier-history ``source`` already exist (the
tier-policy branch's 0021 makes them, without ``recorded_at``) to the same schema as one without them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

from router.db import MIGRATIONS_DIR, _prepare_sqlite, migrate


def test_an_existing_metric_table_gets_what_it_lacks(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    _prepare_sqlite(engine, foreign_keys=False)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0020")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE customer_metric (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES"
                " customer (id), period VARCHAR(7) NOT NULL, metric VARCHAR(64) NOT NULL, value FLOAT NOT NULL,"
                " source VARCHAR(64) NOT NULL, UNIQUE (customer_id, period, metric, source))"
            )
        )
        conn.execute(text("CREATE INDEX ix_customer_metric_customer_id ON customer_metric (customer_id)"))
        conn.execute(text("ALTER TABLE customer_tier_change ADD COLUMN source VARCHAR(16) NOT NULL DEFAULT 'policy'"))
        conn.execute(
            text(
                "INSERT INTO customer (external_ref, name, value_tier, onboarding_tier, highest_tier, attributes,"
                " created_at) VALUES ('a', 'A', 1, 1, 1, '{}', '2026-01-01')"
            )
        )
        conn.execute(text("INSERT INTO customer_metric VALUES (1, 1, '2026-10', 'revenue_12m', 5.0, 'crm')"))
    engine.dispose()
    migrate(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT value, recorded_at IS NOT NULL FROM customer_metric")).all() == [(5.0, 1)]
            names = {i["name"] for i in inspect(conn).get_indexes("customer_metric")}
            assert {"ix_customer_metric_customer_id", "ix_customer_metric_metric_period"} <= names
            sources = [c for c in inspect(conn).get_columns("customer_tier_change") if c["name"] == "source"]
            assert len(sources) == 1
    finally:
        engine.dispose()
