"""An agent's own notifications: list them, mark one read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from router.deps import CurrentAgent, SessionDep
from router.notifications import queries, service
from router.notifications.schemas import NotificationId, NotificationOut
from router.openapi import SIGNED_IN_WITH_PARAMETERS, problems

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
