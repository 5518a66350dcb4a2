"""The agent's notifications in the UI: the list, opening one (marks it read), mark all read, and which kinds
also come by mail. The count on the navigation bar comes with every page (``deps.web_agent``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from router.deps import ContextDep, SessionDep
from router.models.notifications import NotificationKind
from router.notifications import queries, service
from router.notifications.schemas import NotificationId
from router.web import csrf
from router.web.deps import WebAgent
from router.web.errors import PREFIX
from router.web.render import page
from router.web.session import flash

notifications_ui = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(csrf.protect)])
LIST_PATH = f"{PREFIX}/notifications"
#: How many the page lists (newest first).
LISTED = 100
#: The kinds as the settings form names them.
KIND_LABELS = {
    NotificationKind.assigned: "A ticket is assigned to me",
    NotificationKind.requester_replied: "A requester replies on my ticket",
    NotificationKind.sla_warning: "An SLA warning on my ticket",
    NotificationKind.my_sla_breach: "An SLA breach on my ticket",
    NotificationKind.sla_breach: "An SLA breach in a tier I lead",
    NotificationKind.breach_predicted: "A predicted SLA breach in a tier I lead",
    NotificationKind.customer_at_risk: "A customer of a watched tier is at risk (leads)",
}


@notifications_ui.get("/notifications", response_class=HTMLResponse)
async def notification_list(request: Request, ctx: ContextDep, session: SessionDep, agent: WebAgent) -> HTMLResponse:
    """Newest first, unread ones marked; with the mail settings."""
    assert agent.id is not None
    rows = await queries.for_agent(session, agent, unread_only=False, limit=LISTED)
    mailed = await service.mail_kinds(session, agent.id)
    return page(
        request, ctx, "web/notifications.html", agent=agent, notifications=rows, kinds=KIND_LABELS, mailed=mailed
    )


@notifications_ui.post("/notifications/{notification_id}/open")
async def open_notification(session: SessionDep, agent: WebAgent, notification_id: NotificationId) -> RedirectResponse:
    """Mark it read and go to its ticket (or back to the list)."""
    notification = await service.mark_read(session, agent, notification_id)
    target = f"{PREFIX}/tickets/{notification.ticket_id}" if notification.ticket_id else LIST_PATH
    return RedirectResponse(target, status_code=303)


@notifications_ui.post("/notifications/read-all")
async def read_all(request: Request, session: SessionDep, agent: WebAgent) -> RedirectResponse:
    count = await service.mark_all_read(session, agent)
    flash(request, f"{count} notification{'s' if count != 1 else ''} marked read.")
    return RedirectResponse(LIST_PATH, status_code=303)


@notifications_ui.post("/notifications/settings")
async def mail_settings(
    request: Request,
    session: SessionDep,
    agent: WebAgent,
    mail: Annotated[list[NotificationKind], Form(max_length=len(NotificationKind))] = [],  # noqa: B006
) -> RedirectResponse:
    """The kinds the agent also wants by mail (unchecked: in the app only)."""
    await service.set_mail_kinds(session, agent, mail)
    flash(request, "Mail settings saved.")
    return RedirectResponse(LIST_PATH, status_code=303)
