"""Articles written, changed and archived, each change kept as a version with who made it. Leads write (the
API, the web UI); the command line imports as nobody in particular (``changed_by`` empty). Flushes, never
commits: the edge owns the transaction.

``DELETE`` archives rather than removes: the history stays readable, links from old acknowledgements keep
answering (with "no longer available" on ``/help``), and the slug stays taken until the article is restored
(``PATCH`` with ``status: draft`` or ``published``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.db import flush_unique
from router.errors import Conflict, Forbidden, NotFound
from router.kb.markdown import plain_text
from router.kb.schemas import ArticleIn, ArticlePatch
from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.kb import Article, ArticleChange, ArticleStatus, ArticleVersion

#: The fields a version row copies from its article.
VERSIONED = ("slug", "title", "body", "keywords", "locale", "status", "tiers", "products")
MAX_PAGE = 200


def require_lead(agent: Agent | None) -> None:
    """The command line (``None``) and leads write articles; agents read them."""
    if agent is not None and not agent.is_lead:
        raise Forbidden("only leads and admins write knowledge-base articles")


def _slug_taken(slug: str) -> Conflict:
    return Conflict(f"there is an article with the slug {slug!r} already (archived ones keep theirs)", field="slug")


async def _check_slug(session: AsyncSession, slug: str, but: int | None = None) -> None:
    query = select(Article.id).where(Article.slug == slug)
    if but is not None:
        query = query.where(Article.id != but)
    if (await session.exec(query)).first() is not None:
        raise _slug_taken(slug)


def _record(session: AsyncSession, article: Article, change: ArticleChange, by: Agent | None) -> None:
    assert article.id is not None
    copied: dict[str, Any] = {name: getattr(article, name) for name in VERSIONED}
    session.add(
        ArticleVersion(
            article_id=article.id,
            version=article.version,
            change=change,
            changed_by=by.id if by else None,
            changed_at=article.updated_at,
            **copied,
        )
    )


async def create(
    session: AsyncSession, data: ArticleIn, *, by: Agent | None, change: ArticleChange = "created"
) -> Article:
    """A new article (version 1); 409 when its slug is taken."""
    require_lead(by)
    await _check_slug(session, data.slug)
    now = utcnow()
    article = Article(
        **data.model_dump(mode="json"),
        plain_text=plain_text(data.body),
        created_by=by.id if by else None,
        updated_by=by.id if by else None,
        created_at=now,
        updated_at=now,
        published_at=now if data.status == ArticleStatus.published else None,
    )
    session.add(article)
    await flush_unique(session, _slug_taken(data.slug))
    _record(session, article, change, by)
    await session.flush()
    return article


def _change_of(before: str, after: str) -> ArticleChange:
    if before == after:
        return "edited"
    if after == ArticleStatus.archived:
        return "archived"
    if before == ArticleStatus.archived:
        return "restored"
    return "published" if after == ArticleStatus.published else "unpublished"


async def update(
    session: AsyncSession,
    article: Article,
    patch: ArticlePatch,
    *,
    by: Agent | None,
    change: ArticleChange | None = None,
) -> Article:
    """Apply ``patch`` (a new version when anything changes; nothing happens when nothing does). The body's
    ``version``, when given, must be the article's current one (409 otherwise: someone changed it since)."""
    require_lead(by)
    if patch.version is not None and patch.version != article.version:
        raise Conflict(
            f"article {article.slug!r} is at version {article.version}, not {patch.version}: "
            "someone changed it since you read it; read it again",
            version=article.version,
        )
    wanted = patch.model_dump(mode="json", exclude_unset=True, exclude={"version"})
    changed = {k: v for k, v in wanted.items() if v is not None and getattr(article, k) != v}
    if not changed:
        return article
    if "slug" in changed:
        await _check_slug(session, changed["slug"], but=article.id)
    before = article.status
    for name, value in changed.items():
        setattr(article, name, value)
    if "body" in changed:
        article.plain_text = plain_text(article.body)
    article.version += 1
    article.updated_at = utcnow()
    article.updated_by = by.id if by else None
    if article.status == ArticleStatus.published and before != ArticleStatus.published:
        article.published_at = article.updated_at
    await flush_unique(session, _slug_taken(article.slug))
    _record(session, article, change or _change_of(before, article.status), by)
    await session.flush()
    return article


async def archive(session: AsyncSession, article: Article, *, by: Agent | None) -> Article:
    """Archive the article (idempotent: an archived one stays as it is)."""
    return await update(session, article, ArticlePatch(status=ArticleStatus.archived), by=by)


async def get(session: AsyncSession, article_id: int, *, lock: bool = False) -> Article:
    query = select(Article).where(Article.id == article_id)
    if lock:
        query = query.with_for_update()
    article = (await session.exec(query)).first()
    if article is None:
        raise NotFound(f"article {article_id} does not exist", article_id=article_id)
    return article


async def by_slug(session: AsyncSession, slug: str) -> Article | None:
    return (await session.exec(select(Article).where(Article.slug == slug))).first()


async def page(
    session: AsyncSession,
    *,
    status: str | None = None,
    locale: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[Sequence[Article], int]:
    """Articles by title (archived ones only when asked for by ``status``), and how many there are."""
    query = select(Article)
    if status is not None:
        query = query.where(Article.status == status)
    else:
        query = query.where(Article.status != ArticleStatus.archived)
    if locale is not None:
        query = query.where(Article.locale == locale)
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = (await session.exec(query.order_by(col(Article.title), col(Article.id)).offset(offset).limit(limit))).all()
    return rows, int(total)


async def all_articles(session: AsyncSession) -> Sequence[Article]:
    """Every article, archived ones too, by slug (the export)."""
    return (await session.exec(select(Article).order_by(col(Article.slug)))).all()


async def versions(session: AsyncSession, article_id: int) -> Sequence[ArticleVersion]:
    """An article's versions, newest first."""
    query = select(ArticleVersion).where(ArticleVersion.article_id == article_id)
    return (await session.exec(query.order_by(col(ArticleVersion.version).desc()))).all()


async def public_articles(session: AsyncSession, *, limit: int = MAX_PAGE) -> Sequence[Article]:
    """What ``/help`` lists: published articles for every customer tier and product, by title."""
    length = func.jsonb_array_length if session.get_bind().dialect.name == "postgresql" else func.json_array_length
    query = select(Article).where(
        Article.status == ArticleStatus.published, length(Article.tiers) == 0, length(Article.products) == 0
    )
    return (await session.exec(query.order_by(col(Article.title), col(Article.id)).limit(limit))).all()
