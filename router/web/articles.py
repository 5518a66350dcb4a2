"""Put a knowledge-base article into a reply: a search box beside the reply box (``/ui/tickets/{id}/articles``).

Like the macro picker it is a page of its own that the ticket page pulls in with htmx (``hx-select``). With
scripts, **Insert** puts the article's link (or, for an article its requester may not open, its text) at the
cursor in the reply box (``static/app.js``); without them, **Reply with it** opens this page with a reply form
holding the text.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from router.bounds import MAX_ROW_ID
from router.deps import ContextDep, SessionDep
from router.self_service import queries
from router.tickets.versions import version_of
from router.web import csrf
from router.web.deps import WebAgent, WebTicket
from router.web.errors import PREFIX
from router.web.render import page

ui = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(csrf.protect)])
SearchText = Annotated[str, Query(max_length=500)]
ChosenArticle = Annotated[int | None, Query(alias="insert", ge=1, le=MAX_ROW_ID)]


@ui.get("/tickets/{ticket_id}/articles", response_class=HTMLResponse)
async def article_picker(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    agent: WebAgent,
    ticket: WebTicket,
    q: SearchText = "",
    chosen: ChosenArticle = None,
) -> HTMLResponse:
    """The articles matching ``q`` that the ticket's requester may see; with ``insert``, a reply holding one."""
    query = q.replace("\x00", "").strip()
    hits = await queries.articles_for_reply(session, ticket, query, public_url=ctx.settings.public_url)
    reply = next((h.text for h in hits if h.article_id == chosen), None)
    return page(
        request, ctx, "web/article_picker.html", agent=agent, ticket=ticket, q=query, hits=hits, reply=reply,
        version=version_of(ticket),
    )  # fmt: skip
