"""kb_suggestion and kb_link_use: the articles suggested to a tier-0 ticket's requester, and the one-click
links they used (one use per suggestion)

Revision ID: 0025
Revises: 0029
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import router.models.columns

revision: str = "0025"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_suggestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("customer_tier", sa.Integer(), nullable=False),
        sa.Column("suggested_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_article.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "article_id", name="uq_kb_suggestion_ticket_article"),
    )
    op.create_index("ix_kb_suggestion_ticket_id", "kb_suggestion", ["ticket_id"])
    op.create_index("ix_kb_suggestion_article_id", "kb_suggestion", ["article_id"])
    op.create_index("ix_kb_suggestion_suggested_at", "kb_suggestion", ["suggested_at"])
    op.create_table(
        "kb_link_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suggestion_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("feedback", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("used_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["suggestion_id"], ["kb_suggestion.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("suggestion_id", name="uq_kb_link_use_suggestion"),
    )
    op.create_index("ix_kb_link_use_ticket_id", "kb_link_use", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_kb_link_use_ticket_id", table_name="kb_link_use")
    op.drop_table("kb_link_use")
    op.drop_index("ix_kb_suggestion_suggested_at", table_name="kb_suggestion")
    op.drop_index("ix_kb_suggestion_article_id", table_name="kb_suggestion")
    op.drop_index("ix_kb_suggestion_ticket_id", table_name="kb_suggestion")
    op.drop_table("kb_suggestion")
