"""An agent's own notifications: list them, mark one read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from router.deps import CurrentAgent, SessionDep
from router.notifications import queries, service
from router.notifications.schemas import MailSettings, NotificationId, NotificationOut
from router.openapi import JSON_BODY, SIGNED_IN_WITH_PARAMETERS, problems
from router.problems import require_json

api = APIRouter(tags=["notifications"], responses=SIGNED_IN_WITH_PARAMETERS)


@api.get("/notifications", response_model=list[NotificationOut])
async def list_notifications(
    session: SessionDep,
    agent: CurrentAgent,
    unread: Annotated[bool, Query(description="only those not marked read")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationOut]:
    """The signed-in agent's notifications, newest first."""
    rows = await queries.for_agent(session, agent, unread_only=unread, limit=limit)
    return [NotificationOut.model_validate(n) for n in rows]


@api.post("/notifications/{notification_id}/read", response_model=NotificationOut, responses=problems(404))
async def mark_read(session: SessionDep, agent: CurrentAgent, notification_id: NotificationId) -> NotificationOut:
    """Mark one of the agent's notifications read (it leaves the banner on My queues)."""
    return NotificationOut.model_validate(await service.mark_read(session, agent, notification_id))


@api.get("/notifications/settings", response_model=MailSettings)
async def mail_settings(session: SessionDep, agent: CurrentAgent) -> MailSettings:
    """Which notification kinds also come to you by mail (until you choose: the lead's SLA breach only)."""
    assert agent.id is not None
    return MailSettings.model_validate({"mail_kinds": await service.mail_kinds(session, agent.id)})


@api.put(
    "/notifications/settings", response_model=MailSettings, dependencies=[Depends(require_json)], responses=JSON_BODY
)
async def set_mail_settings(body: MailSettings, session: SessionDep, agent: CurrentAgent) -> MailSettings:
    """Choose the kinds that also come by mail (an empty list: none; in the app they always arrive)."""
    return MailSettings.model_validate({"mail_kinds": await service.set_mail_kinds(session, agent, body.mail_kinds)})
