"""Macro shapes of the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from router.models.macros import MacroStatus
from router.models.tickets import Priority
from router.tickets.handover import MAX_TAG_LENGTH, MAX_TAGS
from router.tickets.schemas import CleanText, MessageOut, Text, TicketOut
from rules.vocabulary import MAX_SUPPORT_TIER, MIN_SUPPORT_TIER

Tag = Annotated[CleanText, Field(min_length=1, max_length=MAX_TAG_LENGTH)]
SupportTier = Annotated[int, Field(ge=MIN_SUPPORT_TIER, le=MAX_SUPPORT_TIER)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EscalateAction(_In):
    reason: Text = Field(min_length=1, max_length=2000)
    #: Default: the next tier up.
    to_tier: SupportTier | None = None


class MacroActions(_In):
    """What applying the macro does besides its message; every field optional."""

    status: MacroStatus | None = None
    priority: Priority | None = None
    add_tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    remove_tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    escalate: EscalateAction | None = None

    @model_validator(mode="after")
    def _one_way_out(self) -> Self:
        if self.status is not None and self.escalate is not None:
            raise ValueError("a macro sets a status or escalates, not both")
        return self


class MacroIn(_In):
    name: CleanText = Field(min_length=1, max_length=100)
    #: A Jinja2 template with ``ticket``, ``customer`` and ``agent`` (docs/web.md lists their fields).
    body: Text = Field(min_length=1, max_length=20_000)
    #: True: an internal note instead of a reply to the requester.
    internal: bool = False
    actions: MacroActions = Field(default_factory=MacroActions)
    #: The tiers whose agents may use it; empty: every tier.
    tiers: list[SupportTier] = Field(default_factory=list, max_length=MAX_SUPPORT_TIER + 1)


class MacroOut(BaseModel):
    id: int
    name: str
    body: str
    internal: bool
    actions: MacroActions
    tiers: list[int]
    created_by: int | None
    created_at: datetime
    updated_at: datetime


class PreviewOut(BaseModel):
    macro_id: int
    name: str
    #: The template rendered for this ticket: the message applying the macro sends (unless edited).
    body: str
    internal: bool
    #: What applying it also does, in words.
    actions: list[str]


class ApplyIn(_In):
    #: The message as the agent edited it after the preview; default: the template rendered now.
    body: Text | None = Field(default=None, min_length=1, max_length=200_000)


class ApplyOut(BaseModel):
    ticket: TicketOut
    message: MessageOut
