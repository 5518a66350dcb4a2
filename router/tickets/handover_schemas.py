"""Request shapes of taking and handing over (``handover_routes``); the answer is ``TicketOut``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from router.bounds import MAX_ROW_ID
from router.models.tickets import Priority
from router.tickets.handover import MAX_TAG_LENGTH, MAX_TAGS
from router.tickets.schemas import CleanText, Text

Tag = Annotated[CleanText, Field(min_length=1, max_length=MAX_TAG_LENGTH)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReleaseIn(_In):
    reason: Text | None = Field(default=None, max_length=2000)


class AssignIn(_In):
    agent_id: int = Field(ge=1, le=MAX_ROW_ID)
    reason: Text = Field(min_length=1, max_length=2000)


class PriorityIn(_In):
    priority: Priority
    reason: Text | None = Field(default=None, max_length=2000)


class TagsIn(_In):
    add: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    remove: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
