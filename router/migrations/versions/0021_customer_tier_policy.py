"""customer tiers that live: the tier history's score, policy version and actor; customer_tier_proposal (moves
held back by hysteresis); tier_review_run (one applied review per period); customer events in the outbox and
their webhook deliveries (ticket_id empty, customer_id set)

Revision ID: 0021
Revises: 0025
Create Date: 2026-11-30 12:00:00

Chained after 0025, the newest on main (0022 before it made customer_metric and the tier history's source).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import router.models.columns

revision: str = "0021"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tier_review_run",
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("cadence", sa.String(length=16), nullable=False),
        sa.Column("policy_version", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("moved", sa.Integer(), nullable=False),
        sa.Column("started_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", router.models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("period"),
    )
    op.create_table(
        "customer_tier_proposal",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("policy_version", sa.String(length=16), nullable=False),
        sa.Column("score", JSON, nullable=False),
        sa.Column("updated_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    with op.batch_alter_table("customer_tier_change") as batch:
        batch.add_column(sa.Column("score", JSON, nullable=True))
        batch.add_column(sa.Column("policy_version", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("actor", sa.String(length=100), nullable=True))
    for table in ("outbox_event", "webhook_delivery"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
            batch.alter_column("ticket_id", existing_type=sa.Integer(), nullable=True)
            batch.create_index(f"ix_{table}_customer_id", ["customer_id"], unique=False)
            batch.create_foreign_key(f"fk_{table}_customer_id_customer", "customer", ["customer_id"], ["id"])


def downgrade() -> None:
    for table in ("webhook_delivery", "outbox_event"):
        op.execute(f"DELETE FROM {table} WHERE ticket_id IS NULL")
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_customer_id_customer", type_="foreignkey")
            batch.drop_index(f"ix_{table}_customer_id")
            batch.alter_column("ticket_id", existing_type=sa.Integer(), nullable=False)
            batch.drop_column("customer_id")
    with op.batch_alter_table("customer_tier_change") as batch:
        batch.drop_column("actor")
        batch.drop_column("policy_version")
        batch.drop_column("score")
    op.drop_table("customer_tier_proposal")
    op.drop_table("tier_review_run")
