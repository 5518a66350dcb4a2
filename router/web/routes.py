"""Web UI routes: each authorises through a dependency, calls one service or view function, renders.

Changes answer with a redirect to a page (post/redirect/get), so reloading never repeats an action.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BeforeValidator, StringConstraints

from router.agents import service as agents
from router.agents import sessions as agent_sessions
from router.bounds import MAX_ROW_ID, AttachmentId
from router.deps import ContextDep, SessionDep
from router.errors import NotFound
from router.metrics import CLAIMS
from router.models.tickets import Status
from router.notifications import queries as notification_queries
from router.notifications import service as notifications
from router.notifications.schemas import NotificationId
from router.tickets import attachments, messages
from router.tickets import service as tickets
from router.tickets.schemas import _no_nul
from router.tickets.versions import version_of
from router.tierqueues import service as tierqueues
from router.web import collision, csrf, signin, views
from router.web.deps import WebActor, WebAgent, WebTicket, WebTicketForChange, WorkedTier, signed_in_agent
from router.web.errors import LOGIN_PATH, PREFIX, safe_next
from router.web.render import page
from router.web.session import flash, session_token, sign_in, sign_out
from router.workspace import recent
from rules.vocabulary import MAX_SUPPORT_TIER, MIN_SUPPORT_TIER

ui = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(csrf.protect)])

# NUL characters dropped first (PostgreSQL refuses them; lone surrogates are refused), as the API does;
# then stripped and measured. (A BeforeValidator listed after the constraints wraps them: it runs first.)
Clean = BeforeValidator(_no_nul)
Reason = Annotated[str, Form(), StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), Clean]
OptionalText = Annotated[str, Form(), StringConstraints(strip_whitespace=True, max_length=10_000), Clean]
Body = Annotated[str, Form(), StringConstraints(strip_whitespace=True, min_length=1, max_length=200_000), Clean]
TierField = Annotated[int, Form(ge=MIN_SUPPORT_TIER, le=MAX_SUPPORT_TIER)]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _ticket_url(ticket_id: int | None) -> str:
    return f"{PREFIX}/tickets/{ticket_id}"


# ------------------------------------------------------------------------------------------ sign-in
@ui.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, ctx: ContextDep, session: SessionDep, next: str = f"{PREFIX}/") -> Response:
    if await signed_in_agent(request, session) is not None:
        return _see_other(safe_next(next))
    return page(request, ctx, "web/login.html", error=None, email="", next=safe_next(next))


@ui.post("/login")
async def login(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    next: str = f"{PREFIX}/",
) -> RedirectResponse:
    client = request.client.host if request.client else "unknown"
    agent = await signin.sign_in(
        session, ctx.counters, ctx.settings, email=email, password=password, client=client
    )  # fmt: skip
    if (previous := session_token(request)) is not None:
        await agent_sessions.end(session, previous)  # this browser's earlier session, replaced
    token = await agent_sessions.start(session, agent, lifetime_seconds=ctx.settings.session_max_age_seconds)
    sign_in(request, token)
    return _see_other(safe_next(next))


@ui.post("/logout")
async def logout(request: Request, session: SessionDep) -> RedirectResponse:
    """Ends the session on the server too: a copy of the cookie is refused from now on."""
    token = session_token(request)
    if token is not None:
        await agent_sessions.end(session, token)
    sign_out(request)
    return _see_other(LOGIN_PATH)


# ------------------------------------------------------------------------------------------- queues
@ui.get("/", response_class=HTMLResponse)
async def my_queues(request: Request, ctx: ContextDep, session: SessionDep, agent: WebAgent) -> HTMLResponse:
    """Each tier the agent works: depth, oldest age, tickets near SLA breach."""
    summaries = await views.my_queues(session, ctx.tier_queue, ctx.settings.support_tier_names, agent)
    notices = await notification_queries.unread_notices(session, agent)
    return page(request, ctx, "web/my_queues.html", agent=agent, queues=summaries, notices=notices, live=True)


@ui.post("/notifications/{notification_id}/read")
async def dismiss_notice(session: SessionDep, agent: WebAgent, notification_id: NotificationId) -> RedirectResponse:
    """Dismiss a notice on My queues (marked read; still listed by the API)."""
    await notifications.mark_read(session, agent, notification_id)
    return _see_other(f"{PREFIX}/")


@ui.get("/queues/{tier}", response_class=HTMLResponse)
async def queue(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    agent: WebAgent,
    tier: WorkedTier,
    page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> Response:
    """The tier's queue in claim order, a page at a time; a page past the end (the queue got shorter since
    the link was made) sends the agent to the last page, with a notice."""
    listing = await views.queue_page(session, ctx.tier_queue, ctx.settings.support_tier_names, tier, page_number)
    if listing.page > listing.pages:
        flash(request, f"Page {listing.page} is past the end of this queue; this is its last page, {listing.pages}.")
        return _see_other(f"{PREFIX}/queues/{tier}?page={listing.pages}")
    return page(request, ctx, "web/queue.html", agent=agent, queue=listing, live=True)


@ui.post("/queues/{tier}/claim")
async def claim_next(
    request: Request, ctx: ContextDep, session: SessionDep, agent: WebAgent, tier: WorkedTier
) -> RedirectResponse:
    """Take the head of the queue (atomically: no ticket goes to two agents) and open it."""
    ticket = await tierqueues.claim_next(session, ctx.tier_queue, tier, agent)
    if ticket is None:
        flash(request, f"The tier {tier} queue is empty: nothing to claim.")
        return _see_other(f"{PREFIX}/queues/{tier}")
    CLAIMS.labels(str(tier)).inc()
    flash(request, f"You claimed {ticket.ref}.")
    return _see_other(_ticket_url(ticket.id))


# ------------------------------------------------------------------------------------------ tickets
@ui.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(
    request: Request, ctx: ContextDep, session: SessionDep, agent: WebAgent, actor: WebActor, ticket: WebTicket
) -> HTMLResponse:
    """Conversation, customer card, routing explanation, SLA clocks, verified audit timeline, actions."""
    view = await views.ticket_page(session, ticket, actor, ctx.settings.take_policy)
    await recent.remember(session, agent.id or 0, ticket.id or 0)  # "Recently viewed" on My tickets
    return page(request, ctx, "web/ticket.html", agent=agent, view=view, version=version_of(ticket))


@ui.get("/tickets/{ticket_id}/attachments/{attachment_id}")
async def attachment(ctx: ContextDep, session: SessionDep, ticket: WebTicket, attachment_id: AttachmentId) -> Response:
    """Always a download (never rendered inline), so an HTML or SVG attachment cannot run in the UI's origin."""
    found = await views.attachment_of(session, ticket, attachment_id)
    try:
        data = ctx.blobs.get(found.sha256)
    except FileNotFoundError:
        raise NotFound(f"the file of attachment {attachment_id} is missing from storage") from None
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote_filename(found.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, no-store",
        },
    )


def _quote_filename(name: str) -> str:
    return quote(name.replace("/", "_").replace("\\", "_") or "attachment", safe="")


@ui.post("/tickets/{ticket_id}/messages", response_model=None)
async def add_message(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    agent: WebAgent,
    actor: WebActor,
    ticket: WebTicketForChange,
    body: Body,
    kind: Annotated[Literal["reply", "note"], Form()] = "reply",
    version: Annotated[str, Form(max_length=24)] = "",
    confirmed: Annotated[bool, Form()] = False,
    files: Annotated[list[UploadFile], File()] = [],  # noqa: B006 (FastAPI copies defaults per request)
) -> Response:
    """A reply (emailed to the requester; on a resolved ticket it reopens it) or an internal note, with files.
    Sent from a page older than the ticket's last change, it is held (409) until the agent confirms it."""
    if not confirmed and (conflict := await collision.reply_conflict(session, ticket, version)) is not None:
        return page(
            request, ctx, "web/reply_conflict.html", agent=agent, status=409, ticket=ticket, body=body, kind=kind,
            conflict=conflict, dropped_files=[f.filename for f in files if f.filename],
        )  # fmt: skip
    was_resolved = ticket.status == Status.resolved
    uploads = await attachments.read_uploads(files, max_bytes=ctx.settings.max_attachment_bytes)
    stored = attachments.store(ctx.blobs, uploads)
    await messages.add_message(session, ticket, actor, body=body, internal=kind == "note", attachments=stored)
    flash(request, "Internal note added." if kind == "note" else "Reply queued for sending by email.")
    if kind == "reply" and was_resolved:
        flash(request, f"{ticket.ref} is open again and assigned to you.")
    return _see_other(_ticket_url(ticket.id))


@ui.post("/tickets/{ticket_id}/wait")
async def wait_on_customer(
    request: Request, session: SessionDep, actor: WebActor, ticket: WebTicketForChange, reason: OptionalText = ""
) -> RedirectResponse:
    await tickets.wait_on_customer(session, ticket, actor, reason=reason or None)
    flash(request, f"{ticket.ref} now waits on the customer.")
    return _see_other(_ticket_url(ticket.id))


@ui.post("/tickets/{ticket_id}/resolve")
async def resolve(
    request: Request, session: SessionDep, actor: WebActor, ticket: WebTicketForChange, resolution: OptionalText = ""
) -> RedirectResponse:
    await tickets.resolve(session, ticket, actor, resolution=resolution or None)
    flash(request, f"{ticket.ref} is resolved.")
    return _see_other(_ticket_url(ticket.id))


@ui.post("/tickets/{ticket_id}/reopen")
async def reopen(
    request: Request, session: SessionDep, actor: WebActor, ticket: WebTicketForChange, reason: OptionalText = ""
) -> RedirectResponse:
    await tickets.reopen(session, ticket, actor, reason=reason or None)
    flash(request, f"{ticket.ref} is back in its queue.")
    return _see_other(_ticket_url(ticket.id))


@ui.post("/tickets/{ticket_id}/escalate")
async def escalate(
    request: Request,
    session: SessionDep,
    agent: WebAgent,
    actor: WebActor,
    ticket: WebTicketForChange,
    reason: Reason,
    to_tier: TierField,
) -> RedirectResponse:
    """Up to a higher tier's queue; an agent who does not work that tier goes back to their queue."""
    from_tier = ticket.support_tier
    await tickets.escalate(session, ticket, actor, reason=reason, to_tier=to_tier)
    flash(request, f"{ticket.ref} escalated to tier {to_tier}.")
    if agent.works_tier(to_tier):
        return _see_other(_ticket_url(ticket.id))
    return _see_other(f"{PREFIX}/queues/{from_tier}")


@ui.post("/tickets/{ticket_id}/deescalate")
async def deescalate(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    ticket: WebTicketForChange,
    reason: Reason,
    to_tier: TierField,
) -> RedirectResponse:
    """Leads only: back down to a lower tier's queue."""
    await tickets.deescalate(session, ticket, actor, reason=reason, to_tier=to_tier)
    flash(request, f"{ticket.ref} de-escalated to tier {to_tier}.")
    return _see_other(_ticket_url(ticket.id))


@ui.post("/tickets/{ticket_id}/reassign")
async def reassign(
    request: Request,
    session: SessionDep,
    actor: WebActor,
    ticket: WebTicketForChange,
    agent_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
    reason: Reason,
) -> RedirectResponse:
    """Leads only: hand the ticket to an agent who works its tier."""
    target = await agents.active_agent(session, agent_id)
    if target is None:
        raise NotFound(f"there is no active agent {agent_id}")
    await tickets.reassign(session, ticket, actor, target, reason=reason)
    flash(request, f"{ticket.ref} reassigned to {target.name}.")
    return _see_other(_ticket_url(ticket.id))
