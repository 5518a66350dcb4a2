"""The knowledge base: articles in Markdown, each change kept as a version with who made it.

The full-text index (``kb_article_search``) is not a model: the database builds it and keeps it current
(migration 0024: a tsvector table with triggers on PostgreSQL, an FTS5 table with triggers on SQLite).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal, get_args

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from router.models.columns import JSONColumn, UTCDateTime, utcnow

#: The full-text index's tables, which no model declares (Alembic's comparison leaves them alone).
KB_SEARCH_TABLE = "kb_article_search"


class ArticleStatus(StrEnum):
    """A draft is seen by agents only; a published article by its audience; an archived one by nobody but
    agents reading it by id (``DELETE`` archives: the history stays, the slug stays taken)."""

    draft = "draft"
    published = "published"
    archived = "archived"


#: What a version row says happened.
ArticleChange = Literal["created", "edited", "published", "unpublished", "archived", "restored", "imported"]
ARTICLE_CHANGES: tuple[str, ...] = get_args(ArticleChange)


class Article(SQLModel, table=True):
    __tablename__ = "kb_article"
    __table_args__ = (Index("ix_kb_article_status", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    #: The article's name in URLs (``/help/<slug>``) and file names (``<slug>.md``): lowercase words and hyphens.
    slug: str = Field(max_length=100, unique=True)
    title: str = Field(max_length=200)
    #: Markdown; rendered by ``router.kb.markdown`` (sanitized), never as it is.
    body: str = Field(sa_column=Column(Text, nullable=False))
    #: The body's words without Markdown (derived on every write): what is searched and quoted in snippets.
    plain_text: str = Field(default="", sa_column=Column(Text, nullable=False))
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    #: A language tag (``en``, ``de-CH``): its language picks the search's stemming (``router.kb.locales``).
    locale: str = Field(default="en", max_length=35)
    status: str = Field(default=ArticleStatus.draft, max_length=16)
    #: The customer tiers that may see it; empty: every tier.
    tiers: list[int] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    #: The products (as tickets name them, lowercase) it is about; empty: every product.
    products: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    #: 1 when created, one more with every change: the ``ETag`` / ``If-Match`` of the API.
    version: int = 1
    created_by: int | None = Field(default=None, foreign_key="agent.id")
    updated_by: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def is_public(self) -> bool:
        """Anyone may read it on ``/help``: published, for every customer tier and product."""
        return self.status == ArticleStatus.published and not self.tiers and not self.products


class ArticleVersion(SQLModel, table=True):
    """An article as one change left it (version 1 is the article as created)."""

    __tablename__ = "kb_article_version"
    __table_args__ = (UniqueConstraint("article_id", "version", name="uq_kb_article_version"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="kb_article.id", index=True)
    version: int
    change: str = Field(max_length=16)
    slug: str = Field(max_length=100)
    title: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    locale: str = Field(max_length=35)
    status: str = Field(max_length=16)
    tiers: list[int] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    products: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    #: The agent who made the change; empty for the command line (``tierroute kb import``, the demo).
    changed_by: int | None = Field(default=None, foreign_key="agent.id")
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
