"""customer_at_risk (the early warning's ledger: once per window) and tier_review_record (a lead's sign-off of
a customer in a quarterly tier review)

Revision ID: 0023
Revises: 0027
Create Date: 2026-11-30 15:10:00

Chained after 0027, the newest on main when this branch merged it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import router.models.columns

revision: str = "0023"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "customer_at_risk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("crossed", JSON, nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_customer_at_risk_customer_at", "customer_at_risk", ["customer_id", "at"], unique=False)
    op.create_table(
        "tier_review_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("notes", sa.String(length=2000), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("closed_at", router.models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["owner_id"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "quarter"),
    )
    op.create_index("ix_tier_review_record_customer_id", "tier_review_record", ["customer_id"], unique=False)
    op.create_index("ix_tier_review_record_quarter", "tier_review_record", ["quarter"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tier_review_record_quarter", table_name="tier_review_record")
    op.drop_index("ix_tier_review_record_customer_id", table_name="tier_review_record")
    op.drop_table("tier_review_record")
    op.drop_index("ix_customer_at_risk_customer_at", table_name="customer_at_risk")
    op.drop_table("customer_at_risk")
