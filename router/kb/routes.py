"""Knowledge-base endpoints: agents read and search articles; leads write them. Thin: each calls one function
of ``router.kb``. Every article carries an ``ETag`` (its version); a change sent with ``If-Match`` naming an
older one is refused with 412, and so is one whose body names an older ``version`` (409)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from pydantic import AfterValidator

from router.bounds import MAX_ROW_ID, Offset
from router.deps import CurrentAgent, CurrentLead, SessionDep
from router.errors import PreconditionFailed
from router.kb import search, service
from router.kb.markdown import to_html
from router.kb.schemas import (
    ArticleIn,
    ArticleList,
    ArticleOut,
    ArticlePatch,
    ArticleVersionOut,
    CustomerTier,
    SearchHitOut,
    Status,
    optional_locale,
)
from router.models.kb import Article
from router.openapi import JSON_BODY, LEADS_ONLY, SIGNED_IN_WITH_PARAMETERS, answer, problems
from router.problems import require_json

api = APIRouter(prefix="/kb", tags=["knowledge base"], responses=SIGNED_IN_WITH_PARAMETERS)
ArticleId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the article's id")]
LocaleQuery = Annotated[
    str | None,
    Query(min_length=2, max_length=35, description="a language tag: en, de, pt-BR"),
    AfterValidator(optional_locale),
]
#: A lead's change to one article: 403 for agents, 404, 409 (a slug taken, a stale ``version``), 412 (a stale
#: ``If-Match``).
CHANGE = LEADS_ONLY | problems(404, 409, 412)


def out(article: Article) -> ArticleOut:
    return ArticleOut.model_validate({**article.model_dump(), "html": str(to_html(article.body))})


def etag_of(article: Article) -> str:
    return f'"{article.version}"'


async def article_for_reading(article_id: ArticleId, session: SessionDep, _agent: CurrentAgent) -> Article:
    return await service.get(session, article_id)


async def article_for_change(
    article_id: ArticleId,
    session: SessionDep,
    _lead: CurrentLead,
    if_match: Annotated[
        str | None,
        Header(max_length=1000, description="the article's `ETag` as you read it: refused (412) if it changed since"),
    ] = None,
) -> Article:
    """Locked for the rest of the transaction; a stale ``If-Match`` is refused before anything changes."""
    article = await service.get(session, article_id, lock=True)
    if if_match is not None:
        tags = [t.strip() for t in if_match.split(",")]
        if "*" not in tags and etag_of(article) not in tags:
            raise PreconditionFailed(
                f"article {article.slug!r} changed since the version you read; read it again", etag=etag_of(article)
            )
    return article


ArticleFromPath = Annotated[Article, Depends(article_for_reading)]
ArticleForChange = Annotated[Article, Depends(article_for_change)]


@api.get("/articles", response_model=ArticleList)
async def list_articles(
    session: SessionDep,
    _agent: CurrentAgent,
    status: Annotated[Status | None, Query(description="only these; default: drafts and published")] = None,
    locale: LocaleQuery = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> ArticleList:
    """Articles by title, drafts included (archived ones with ``status=archived``)."""
    rows, total = await service.page(session, status=status, locale=locale, offset=offset, limit=limit)
    return ArticleList(items=[out(a) for a in rows], total=total)


@api.post(
    "/articles",
    response_model=ArticleOut,
    status_code=201,
    dependencies=[Depends(require_json)],
    responses=LEADS_ONLY | JSON_BODY | problems(409),
)
async def create_article(body: ArticleIn, session: SessionDep, lead: CurrentLead, response: Response) -> ArticleOut:
    """Leads only. A slug taken (by any article, archived ones too) is a 409."""
    article = await service.create(session, body, by=lead)
    response.headers["ETag"] = etag_of(article)
    response.headers["Location"] = f"/api/v1/kb/articles/{article.id}"
    return out(article)


@api.get("/articles/{article_id}", response_model=ArticleOut, responses=problems(404))
async def get_article(article: ArticleFromPath, response: Response) -> ArticleOut:
    """An article (any status) with its rendered body; its ``ETag`` is the version to send as ``If-Match``."""
    response.headers["ETag"] = etag_of(article)
    return out(article)


@api.patch(
    "/articles/{article_id}",
    response_model=ArticleOut,
    dependencies=[Depends(require_json)],
    responses=CHANGE | JSON_BODY,
)
async def update_article(
    body: ArticlePatch, article: ArticleForChange, session: SessionDep, lead: CurrentLead, response: Response
) -> ArticleOut:
    """Leads only: change some fields (a new version when anything changes). ``status`` publishes,
    unpublishes (``draft``), archives or restores."""
    article = await service.update(session, article, body, by=lead)
    response.headers["ETag"] = etag_of(article)
    return out(article)


@api.delete("/articles/{article_id}", status_code=204, responses=CHANGE | answer(204, "archived"))
async def delete_article(article: ArticleForChange, session: SessionDep, lead: CurrentLead) -> Response:
    """Leads only: archive the article (hidden from search and ``/help``, its history kept, its slug still
    taken). Archiving an archived article changes nothing. Restore it with ``PATCH {"status": "draft"}``."""
    await service.archive(session, article, by=lead)
    return Response(status_code=204)


@api.get("/articles/{article_id}/versions", response_model=list[ArticleVersionOut], responses=problems(404))
async def article_versions(article: ArticleFromPath, session: SessionDep) -> list[ArticleVersionOut]:
    """Every version of the article, newest first, with who made each change."""
    assert article.id is not None
    return [
        ArticleVersionOut.model_validate(v, from_attributes=True) for v in await service.versions(session, article.id)
    ]


@api.get("/search", response_model=list[SearchHitOut])
async def search_articles(
    session: SessionDep,
    _agent: CurrentAgent,
    q: Annotated[str, Query(min_length=1, max_length=5000, description="a question, or a ticket's words")],
    customer_tier: Annotated[CustomerTier | None, Query(description="only what this customer tier may see")] = None,
    product: Annotated[str | None, Query(min_length=1, max_length=100, description="only articles for it")] = None,
    locale: LocaleQuery = None,
    limit: Annotated[int, Query(ge=1, le=search.MAX_LIMIT)] = 10,
    drafts: Annotated[bool, Query(description="drafts too (never archived articles)")] = False,
) -> list[SearchHitOut]:
    """The best-matching articles, best first (full text: title, then keywords, then body)."""
    hits = await search.search_articles(
        session, q, customer_tier=customer_tier, product=product, locale=locale, limit=limit, published_only=not drafts
    )
    return [
        SearchHitOut(
            id=h.article_id, slug=h.slug, title=h.title, snippet=h.snippet, rank=h.rank,
            url=f"/help/{h.slug}" if h.public else None,
        )
        for h in hits
    ]  # fmt: skip
