"""Notification shapes of the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from router.bounds import MAX_ROW_ID
from router.models.notifications import NotificationKind

#: A notification's id in a path (API and web UI), bounded to what the column holds.
NotificationId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the notification's id")]


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    ticket_id: int | None
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None
    #: ``pending``, ``sent`` or ``failed`` for its mail; NULL when none goes out.
    mail_status: str | None


class MailSettings(BaseModel):
    """The notification kinds the agent also receives by mail (every kind always arrives in the app)."""

    mail_kinds: list[NotificationKind] = Field(max_length=len(NotificationKind))
