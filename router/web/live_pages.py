"""The UI's live stream (server-sent events) and the ticket page's typing beat (collision detection)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import Response, StreamingResponse

from router.assignment import queries as assignment_queries
from router.bounds import MAX_ROW_ID
from router.context import AppContext
from router.deps import ContextDep, SessionDep
from router.models.agents import Agent
from router.notifications import queries as notification_queries
from router.notifications.service import live_notice
from router.security_headers import SECURITY_HEADERS
from router.tickets import service as tickets
from router.tickets.actors import require_tier
from router.web import csrf, streams, views
from router.web.deps import WebActor, WebAgent, WebTicket
from router.web.errors import PREFIX

live_ui = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(csrf.protect)])


@live_ui.get("/events")
async def events(
    ctx: ContextDep,
    session: SessionDep,
    agent: WebAgent,
    actor: WebActor,
    tiers: Annotated[bool, Query(description="the page shows the tier queues live")] = True,
    ticket: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="the ticket whose page this is")] = None,
    since: Annotated[int, Query(ge=0, le=MAX_ROW_ID, description="the newest notification the page shows")] = 0,
    last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> StreamingResponse:
    """Server-sent events for one open page: notifications; tier depths (``tiers``); a ticket's changes and
    who else is on it (``ticket``, which the agent must be allowed to see: 403/404 before streaming).

    Notifications after ``since`` (or the reconnecting browser's ``Last-Event-ID``) are replayed first."""
    if ticket is not None:
        require_tier(actor, (await tickets.get(session, ticket)).support_tier)
    stream = streams.page_events(
        ctx.live,
        ctx.tier_queue,
        streams.Viewer.of(agent),
        tiers=views.visible_tiers(agent) if tiers else [],
        ticket_id=ticket,
        poll_seconds=ctx.settings.live_poll_seconds,
        missed=_missed_notifications(ctx, agent.id),
        since=max(since, _event_id(last_event_id)),
        offers=await assignment_queries.pending_messages(session, agent.id or 0),
    )
    headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


@live_ui.post("/tickets/{ticket_id}/typing", status_code=204)
async def typing(ctx: ContextDep, agent: WebAgent, ticket: WebTicket) -> Response:
    """The page reports a keystroke in the reply box (at most every ~2 s): others see "typing" for a few
    seconds (``streams.TYPING_TTL``)."""
    assert agent.id is not None and ticket.id is not None
    await ctx.live.present(ticket.id, agent.id, agent.name, typing=True, ttl=streams.TYPING_TTL)
    return Response(status_code=204, headers=SECURITY_HEADERS)


def _event_id(header: str | None) -> int:
    """The browser's ``Last-Event-ID`` (a notification id we sent), or 0 for anything else."""
    return int(header) if header is not None and header.isdigit() and int(header) <= MAX_ROW_ID else 0


def _missed_notifications(ctx: AppContext, agent_id: int | None) -> streams.MissedNotifications:
    """Reads in a session of its own: the stream outlives the request's."""

    async def missed(after_id: int) -> list[dict[str, Any]]:
        async with ctx.sessionmaker() as session:
            agent = await session.get(Agent, agent_id)
            if agent is None or not agent.active:
                return []
            rows = await notification_queries.unread_since(session, agent, after_id, limit=streams.REPLAYED)
            return [live_notice(n, None) for n in rows]

    return missed
