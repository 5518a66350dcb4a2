"""Shapes of the intake endpoints (``POST /tickets``, ``POST /intake/email``), kept stable: see DESIGN.md,
public surface. A ticket read back is ``router.tickets.schemas.TicketOut``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from router.models.tickets import Priority
from router.tickets.schemas import CleanText, Text


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    subject: Text = Field(min_length=1, max_length=500)
    body: Text = Field(max_length=200_000)
    requester_email: EmailStr
    customer_ref: CleanText | None = Field(default=None, min_length=1, max_length=120)
    priority: Priority | None = None
    channel: str = Field(default="api", min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    external_id: CleanText | None = Field(default=None, min_length=1, max_length=255)
    product: CleanText | None = Field(default=None, min_length=1, max_length=100)
    component: CleanText | None = Field(default=None, min_length=1, max_length=100)
    service: CleanText | None = Field(default=None, min_length=1, max_length=100, description="the affected service")
    tags: list[Annotated[CleanText, Field(min_length=1, max_length=50)]] = Field(default_factory=list, max_length=20)


class TicketAccepted(BaseModel):
    id: int
    ref: str
    status: str
    created: bool


class EmailAccepted(BaseModel):
    outcome: str
    reason: str | None
    ticket_id: int | None
    ticket_ref: str | None
    duplicate: bool
