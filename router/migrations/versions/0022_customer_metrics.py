"""customer_metric (a customer's figures per month and source), the source of each tier-history step, the
customer list's name index

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_metric",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "period", "metric", "source", name="uq_customer_metric"),
    )
    op.create_index("ix_customer_metric_metric_period", "customer_metric", ["metric", "period"])
    # Existing steps: the first one of each customer is its onboarding, every later one was made by hand.
    op.add_column(
        "customer_tier_change",
        sa.Column("source", sa.String(length=20), nullable=False, server_default="manual"),
    )
    op.execute(sa.text("UPDATE customer_tier_change SET source = 'onboarding' WHERE from_tier IS NULL"))
    if op.get_bind().dialect.name == "postgresql":  # SQLite cannot reflect it (a warning on every comparison)
        op.create_index("ix_customer_name_lower_id", "customer", [sa.text("lower(name)"), "id"])


def downgrade() -> None:
    op.execute(sa.text("DROP INDEX IF EXISTS ix_customer_name_lower_id"))
    with op.batch_alter_table("customer_tier_change") as batch:
        batch.drop_column("source")
    op.drop_index("ix_customer_metric_metric_period", table_name="customer_metric")
    op.drop_table("customer_metric")
