"""The knowledge base in the agents' UI (``/ui/kb``): every agent lists and reads articles; leads write them,
preview the rendered body before saving, publish, unpublish and archive.

The preview is the server's rendering (the same sanitized HTML ``/help`` shows), so it works without
scripts: the form posts with ``action=preview`` and comes back with the lead's text and the preview below
it, nothing saved. A problem (a taken slug, a bad value, someone else's change meanwhile) re-renders the
form with the message and the lead's text, with the problem's status.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError

from router.bounds import MAX_ROW_ID
from router.deps import ContextDep, SessionDep
from router.errors import DomainError, Forbidden
from router.kb import service as kb
from router.kb.markdown import to_html
from router.kb.schemas import ArticleIn, ArticlePatch
from router.models.agents import Agent
from router.models.kb import Article, ArticleStatus
from router.web import csrf
from router.web.deps import WebAgent
from router.web.errors import PREFIX
from router.web.render import page
from router.web.session import flash
from rules.vocabulary import CUSTOMER_TIERS

ui = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(csrf.protect)])
ArticlePathId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
#: What each button of the form asks for: the status it saves with (None: unchanged), or a preview.
ACTIONS = {"preview": None, "save": None, "publish": ArticleStatus.published, "unpublish": ArticleStatus.draft}


async def web_lead(agent: WebAgent) -> Agent:
    if not agent.is_lead:
        raise Forbidden("only leads and admins write knowledge-base articles")
    return agent


WebLead = Annotated[Agent, Depends(web_lead)]


def _words(text: str) -> list[str]:
    """``a, b ,c`` -> ``[a, b, c]`` (keywords and products are typed comma-separated)."""
    return [w.strip() for w in text.split(",") if w.strip()]


def _form_of(article: Article) -> dict[str, Any]:
    return {
        "title": article.title,
        "slug": article.slug,
        "body": article.body,
        "keywords": ", ".join(article.keywords),
        "locale": article.locale,
        "products": ", ".join(article.products),
        "tiers": [str(t) for t in article.tiers],
        "version": str(article.version),
    }


def _form_page(
    request: Request,
    ctx: ContextDep,
    lead: Agent,
    *,
    article: Article | None,
    form: dict[str, Any],
    preview: Markup | None = None,
    problem: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page(
        request, ctx, "web/kb_form.html", agent=lead, status=status, article=article, form=form, preview=preview,
        problem=problem, customer_tiers=list(CUSTOMER_TIERS),
    )  # fmt: skip


def _problem_text(exc: ValidationError | DomainError) -> str:
    if isinstance(exc, DomainError):
        return exc.detail
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}" for e in exc.errors())


async def _posted(request: Request) -> tuple[dict[str, Any], str]:
    form = await request.form()
    fields: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str) and k != "tiers"}
    fields["tiers"] = [t for t in form.getlist("tiers") if isinstance(t, str)]
    action = str(fields.pop("action", "save"))
    return fields, action if action in ACTIONS else "save"


def _shaped(fields: dict[str, Any]) -> dict[str, Any]:
    """The form's flat fields in the API's shape."""
    return {
        "title": fields.get("title", ""),
        "slug": fields.get("slug", ""),
        "body": fields.get("body", ""),
        "keywords": _words(fields.get("keywords", "")),
        "locale": fields.get("locale", "") or "en",
        "products": _words(fields.get("products", "")),
        "tiers": fields["tiers"],
    }


async def _save(
    request: Request, ctx: ContextDep, session: SessionDep, lead: Agent, article: Article | None
) -> Response:
    fields, action = await _posted(request)
    shaped = _shaped(fields)
    if action == "preview":
        preview = to_html(shaped["body"])
        return _form_page(request, ctx, lead, article=article, form=fields, preview=preview)
    status = ACTIONS[action]
    try:
        if article is None:
            saved = await kb.create(session, ArticleIn.model_validate({**shaped, "status": status or "draft"}), by=lead)
        else:
            patch = {**shaped, "version": fields.get("version") or None}
            if status is not None:
                patch["status"] = status
            saved = await kb.update(session, article, ArticlePatch.model_validate(patch), by=lead)
    except (ValidationError, DomainError) as exc:
        code = exc.status if isinstance(exc, DomainError) else 422
        return _form_page(request, ctx, lead, article=article, form=fields, problem=_problem_text(exc), status=code)
    verb = {"publish": "published", "unpublish": "unpublished"}.get(action, "saved")
    flash(request, f"Article {saved.title!r} {verb}.")
    return RedirectResponse(f"{PREFIX}/kb/{saved.id}", status_code=303)


@ui.get("/kb", response_class=HTMLResponse)
async def article_list(request: Request, ctx: ContextDep, session: SessionDep, agent: WebAgent) -> HTMLResponse:
    rows, total = await kb.page(session, limit=kb.MAX_PAGE)
    return page(request, ctx, "web/kb_articles.html", agent=agent, articles=rows, total=total)


@ui.get("/kb/new", response_class=HTMLResponse)
async def new_article(request: Request, ctx: ContextDep, lead: WebLead) -> HTMLResponse:
    return _form_page(request, ctx, lead, article=None, form={"locale": "en", "tiers": []})


@ui.post("/kb/new")
async def create_article(request: Request, ctx: ContextDep, session: SessionDep, lead: WebLead) -> Response:
    return await _save(request, ctx, session, lead, None)


@ui.get("/kb/{article_id}", response_class=HTMLResponse)
async def show_article(
    request: Request, ctx: ContextDep, session: SessionDep, agent: WebAgent, article_id: ArticlePathId
) -> HTMLResponse:
    """Leads get the form (with the rendered body as its preview); agents the article as it reads."""
    article = await kb.get(session, article_id)
    html = to_html(article.body)
    if agent.is_lead:
        return _form_page(request, ctx, agent, article=article, form=_form_of(article), preview=html)
    return page(request, ctx, "web/kb_article.html", agent=agent, article=article, html=html)


@ui.post("/kb/{article_id}")
async def update_article(
    request: Request, ctx: ContextDep, session: SessionDep, lead: WebLead, article_id: ArticlePathId
) -> Response:
    return await _save(request, ctx, session, lead, await kb.get(session, article_id, lock=True))


@ui.post("/kb/{article_id}/archive")
async def archive_article(
    request: Request, session: SessionDep, lead: WebLead, article_id: ArticlePathId
) -> RedirectResponse:
    article = await kb.archive(session, await kb.get(session, article_id, lock=True), by=lead)
    flash(request, f"Article {article.title!r} archived.")
    return RedirectResponse(f"{PREFIX}/kb", status_code=303)
