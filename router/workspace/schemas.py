"""Saved-view shapes of the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from router.bounds import MAX_ROW_ID
from router.tickets.filters import SavedFilters

ViewId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the saved view's id")]
ViewName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ViewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ViewName
    #: Every agent sees a shared view; only leads and admins share.
    shared: bool = False
    filters: SavedFilters = Field(default_factory=SavedFilters)

    @field_validator("name", mode="before")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        return value.replace("\x00", "") if isinstance(value, str) else value


class ViewOut(BaseModel):
    id: int
    name: str
    shared: bool
    owner_id: int
    #: The signed-in agent's own view (they may delete it).
    mine: bool
    #: The list's query parameters, as saved (``GET /tickets`` takes the same).
    filters: dict[str, Any]
    created_at: datetime
