"""customer_metric (a customer's figures per month and source, with when each was recorded), the source of
each tier-history step, the customer list's name index (PostgreSQL)

Revision ID: 0022
Revises: 0024
Create Date: 2026-12-01 10:00:00

Issue 18 is built by several branches at once, and the tier-policy branch's migration (0021) creates
``customer_metric`` and ``customer_tier_change.source`` too, in the same shape but for ``recorded_at`` and
the ``(metric, period)`` index. So this one adds what is missing and leaves what is there: it upgrades a
database with or without 0021 before it to the same schema.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def _indexes(table: str) -> set[str]:
    return {i["name"] for i in sa.inspect(op.get_bind()).get_indexes(table) if i["name"]}


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table("customer_metric"):
        op.create_table(
            "customer_metric",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("customer_id", sa.Integer(), nullable=False),
            sa.Column("period", sa.String(length=7), nullable=False),
            sa.Column("metric", sa.String(length=64), nullable=False),
            sa.Column("value", sa.Float(), nullable=False),
            sa.Column("source", sa.String(length=64), nullable=False),
            sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("customer_id", "period", "metric", "source"),
        )
        op.create_index("ix_customer_metric_customer_id", "customer_metric", ["customer_id"])
    elif "recorded_at" not in _columns("customer_metric"):
        # Figures from before were recorded at some moment up to now: now is the best there is.
        with op.batch_alter_table("customer_metric") as batch:
            batch.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
        op.execute(sa.text("UPDATE customer_metric SET recorded_at = CURRENT_TIMESTAMP"))
        with op.batch_alter_table("customer_metric") as batch:
            batch.alter_column("recorded_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    if "ix_customer_metric_metric_period" not in _indexes("customer_metric"):
        op.create_index("ix_customer_metric_metric_period", "customer_metric", ["metric", "period"])
    if "source" not in _columns("customer_tier_change"):
        # Steps from before were typed in by people (imports and the administration).
        with op.batch_alter_table("customer_tier_change") as batch:
            batch.add_column(sa.Column("source", sa.String(length=16), nullable=False, server_default="manual"))
    if op.get_bind().dialect.name == "postgresql":  # SQLite cannot reflect it (a warning on every comparison)
        op.create_index("ix_customer_name_lower_id", "customer", [sa.text("lower(name)"), "id"])


def downgrade() -> None:
    op.execute(sa.text("DROP INDEX IF EXISTS ix_customer_name_lower_id"))
    with op.batch_alter_table("customer_tier_change") as batch:
        batch.drop_column("source")
    op.drop_index("ix_customer_metric_metric_period", table_name="customer_metric")
    op.drop_index("ix_customer_metric_customer_id", table_name="customer_metric")
    op.drop_table("customer_metric")
