"""The requester's side of a one-click link (no sign-in: the signed token is the credential).

``GET`` only shows what the link would do, with a button: mail scanners and link previews fetch every link
in a mail, and must never close or escalate a request. The button's ``POST`` does it. The article link shows
the suggested article with both answers as buttons, and changes nothing either way.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from router.bounds import MAX_ROW_ID
from router.deps import ContextDep, SessionDep
from router.kb.markdown import to_html
from router.models.columns import utcnow
from router.models.kb import Article, ArticleStatus
from router.models.self_service import Feedback
from router.self_service import answers, pages
from router.self_service.links import PATH_PREFIX, LinkClaim, link_key, link_path
from router.unit_of_work import transaction

public = APIRouter(prefix=PATH_PREFIX, include_in_schema=False)
_REF = re.compile(r"T-(\d{6,10})")


def _ticket_id(ref: str) -> int:
    """The id in a ``T-000123`` path segment; 0 (no ticket) for anything else."""
    found = _REF.fullmatch(ref)
    number = int(found.group(1)) if found else 0
    return number if number <= MAX_ROW_ID else 0


def _render(request: Request, ctx: ContextDep, page: pages.Page) -> HTMLResponse:
    html = ctx.templates.get_template("self_service/link.html").render(
        heading=page.heading, lines=page.lines, confirm=page.confirm, action=request.url.path
    )
    return HTMLResponse(html, status_code=page.status)


async def _article_page(session: AsyncSession, ctx: ContextDep, checked: answers.Checked) -> HTMLResponse:
    """The suggested article, with the two answers as buttons (their own signed links) until one is given."""
    claim, ticket, suggestion = checked.claim, checked.ticket, checked.suggestion
    assert claim is not None and ticket is not None and suggestion is not None and ticket.id is not None
    article = await session.get(Article, suggestion.article_id)
    readable = article is not None and article.status != ArticleStatus.archived
    key = link_key(ctx.settings)

    def action(feedback: Feedback) -> str:
        assert ticket.id is not None
        return link_path(ticket.id, key.sign(LinkClaim(ticket.id, suggestion.id or 0, feedback, claim.expires)))

    html = ctx.templates.get_template("self_service/article.html").render(
        ref=ticket.ref,
        title=article.title if article is not None and readable else suggestion.title,
        body=to_html(article.body) if article is not None and readable else None,
        answered=pages.answered_line(checked.use) if checked.use is not None else None,
        solved_action=action(Feedback.solved),
        unhelpful_action=action(Feedback.not_helpful),
    )
    return HTMLResponse(html)


@public.get("/{ref}/{token:path}", response_class=HTMLResponse)
async def confirm(request: Request, ctx: ContextDep, session: SessionDep, ref: str, token: str) -> HTMLResponse:
    checked = await answers.check(session, link_key(ctx.settings), _ticket_id(ref), token, utcnow())
    if checked.problem is not None:
        return _render(request, ctx, pages.problem_page(checked))
    if checked.claim is not None and checked.claim.feedback is None:
        return await _article_page(session, ctx, checked)
    return _render(request, ctx, pages.confirm_page(checked))


@public.post("/{ref}/{token:path}", response_class=HTMLResponse)
async def answer(request: Request, ctx: ContextDep, ref: str, token: str) -> HTMLResponse:
    key, ticket_id = link_key(ctx.settings), _ticket_id(ref)
    try:
        async with transaction(ctx.sessionmaker, ctx.effects) as session:
            checked = await answers.use(session, key, ticket_id, token, utcnow())
    except IntegrityError:  # the same suggestion answered at the same moment: that one won
        async with ctx.sessionmaker() as session:
            checked = await answers.check(session, key, ticket_id, token, utcnow())
    if checked.problem is not None:
        return _render(request, ctx, pages.problem_page(checked))
    if checked.outcome is None:  # the article link: posting to it changes nothing
        async with ctx.sessionmaker() as session:
            return await _article_page(session, ctx, checked)
    return _render(request, ctx, pages.done_page(checked))
