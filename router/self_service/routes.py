"""The requester's side of a one-click link (no sign-in: the signed token is the credential).

``GET`` only shows what the link would do, with a button: mail scanners and link previews fetch every link
in a mail, and must never close or escalate a request. The button's ``POST`` does it.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import IntegrityError

from router.bounds import MAX_ROW_ID
from router.deps import ContextDep, SessionDep
from router.models.columns import utcnow
from router.self_service import answers, pages
from router.self_service.links import PATH_PREFIX, link_key
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


@public.get("/{ref}/{token}", response_class=HTMLResponse)
async def confirm(request: Request, ctx: ContextDep, session: SessionDep, ref: str, token: str) -> HTMLResponse:
    checked = await answers.check(session, link_key(ctx.settings), _ticket_id(ref), token, utcnow())
    page = pages.problem_page(checked) if checked.problem else pages.confirm_page(checked)
    return _render(request, ctx, page)


@public.post("/{ref}/{token}", response_class=HTMLResponse)
async def answer(request: Request, ctx: ContextDep, ref: str, token: str) -> HTMLResponse:
    key, ticket_id = link_key(ctx.settings), _ticket_id(ref)
    try:
        async with transaction(ctx.sessionmaker, ctx.effects) as session:
            checked = await answers.use(session, key, ticket_id, token, utcnow())
    except IntegrityError:  # the same suggestion answered at the same moment: that one won
        async with ctx.sessionmaker() as session:
            checked = await answers.check(session, key, ticket_id, token, utcnow())
    page = pages.problem_page(checked) if checked.problem else pages.done_page(checked)
    return _render(request, ctx, page)
