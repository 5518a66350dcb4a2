"""Macros (canned replies): a lead's sandboxed Jinja2 template of a reply, and what applying it also does."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from router.models.columns import JSONColumn, UTCDateTime, utcnow
from router.models.tickets import Status

#: The statuses a macro may set (the ticket service's ``wait_on_customer`` and ``resolve``).
MacroStatus = Literal[Status.waiting_on_customer, Status.resolved]
MACRO_STATUSES: tuple[str, ...] = tuple(str(s) for s in get_args(MacroStatus))


class Macro(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    #: The reply's text as a Jinja2 template, rendered in a sandbox with the ticket's and customer's fields.
    body: str
    #: True: applied as an internal note instead of a reply to the requester.
    internal: bool = False
    #: ``{"status"?, "priority"?, "add_tags"?, "remove_tags"?, "escalate"?: {"reason", "to_tier"?}}``.
    actions: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn, nullable=False))
    #: The support tiers whose agents see it; empty: every tier.
    tiers: list[int] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    created_by: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
