"""The public help centre: ``/help`` (search and the list of articles) and ``/help/<slug>`` (an article),
server-rendered, without scripts or sign-in. Only what anyone may read is shown: published articles for every
customer tier and product; anything else (a draft, an article for one tier, an archived one) is the help
centre's own 404 page, which says when an article was withdrawn.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from router.deps import ContextDep, SessionDep
from router.kb import search, service
from router.kb.markdown import to_html
from router.models.kb import ArticleStatus

pages = APIRouter(prefix="/help", include_in_schema=False)
#: The most results a help search shows.
RESULTS = 10


def _page(ctx: ContextDep, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    # No session, no CSRF token: the help centre sets no cookie.
    return HTMLResponse(ctx.templates.get_template(f"help/{template}").render(**context), status_code=status)


@pages.get("", response_class=HTMLResponse)
async def help_home(
    ctx: ContextDep, session: SessionDep, q: Annotated[str, Query(max_length=500)] = ""
) -> HTMLResponse:
    query = q.strip()
    hits = await search.search_articles(session, query, limit=RESULTS, public_only=True) if query else []
    articles = [] if query else await service.public_articles(session)
    return _page(ctx, "index.html", q=query, hits=hits, articles=articles)


@pages.get("/{slug}", response_class=HTMLResponse)
async def help_article(ctx: ContextDep, session: SessionDep, slug: str) -> HTMLResponse:
    article = await service.by_slug(session, slug) if len(slug) <= 100 else None
    if article is None or not article.is_public:
        gone = article is not None and article.status == ArticleStatus.archived
        return _page(ctx, "not_found.html", status=404, gone=gone)
    return _page(ctx, "article.html", article=article, html=to_html(article.body))
