"""knowledge-base search index: no GIN pending list (``fastupdate = off``)

Revision ID: 0030
Revises: 0033
Create Date: 2026-11-30 16:20:00

With ``fastupdate`` (PostgreSQL's default), new index entries wait in a pending list, unsorted, until a
vacuum or 4 MB of them; every search reads the whole list, for each configuration it matches: 1.5 ms a scan
with the 172 documents 10,000 bulk-inserted articles left there (bench/kb.py), several scans a search. The
knowledge base is written by people editing articles and read by every tier-0 ticket: each article written
goes straight into the index instead, and the list left is emptied now. SQLite: nothing (FTS5 merges its
own segments).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(sa.text("ALTER INDEX kb_article_search_document SET (fastupdate = off)"))
    op.execute(sa.text("SELECT gin_clean_pending_list('kb_article_search_document'::regclass)"))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(sa.text("ALTER INDEX kb_article_search_document RESET (fastupdate)"))
