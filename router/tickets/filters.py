"""What a ticket list may be asked for: the filters and sort of ``GET /api/v1/tickets``, of the web UI's
lists and of saved views, as one model, so a saved view is validated exactly as the request it replays.

The model only checks shapes and bounds; ``router.tickets.listing`` turns it into SQL for an agent.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from router.bounds import MAX_ROW_ID
from router.models.tickets import Priority, Status
from rules.vocabulary import MAX_CUSTOMER_TIER, MAX_SUPPORT_TIER, MIN_CUSTOMER_TIER, MIN_SUPPORT_TIER

#: ``assignee=me`` (the acting agent), ``none`` (nobody holds it) or an agent's id.
ME = "me"
NOBODY = "none"
#: Ages in hours: up to about a hundred years, so ``now - age`` stays a date.
MAX_AGE_HOURS = 876_000
#: Full-text queries are short: a few words, not a document.
MAX_QUERY_CHARS = 200


class SlaFilter(StrEnum):
    """A ticket's SLA state as its running clocks have it (``docs/sla.md``)."""

    #: Running clocks, none warned or breached.
    ok = "ok"
    #: A running clock past its warning (and none breached).
    warning = "warning"
    #: A running clock breached.
    breached = "breached"
    #: A clock paused (waiting on the customer).
    paused = "paused"
    #: No running clock (not routed yet, or every clock stopped).
    none = "none"


class Sort(StrEnum):
    #: Newest first (the default without ``q``).
    newest = "newest"
    oldest = "oldest"
    #: Urgent first, then the oldest.
    priority = "priority"
    #: Most recently changed first.
    updated = "updated"
    #: The running SLA clock due soonest first; tickets without one last.
    sla_due = "sla_due"
    #: Best match first (the default with ``q``; only with ``q``).
    relevance = "relevance"


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class TicketQuery(BaseModel):
    """Filters (all given must hold) and the order of a ticket list."""

    status: list[Status] = Field(default_factory=list, max_length=len(Status), description="any of these")
    support_tier: int | None = Field(default=None, ge=MIN_SUPPORT_TIER, le=MAX_SUPPORT_TIER)
    assignee: str | None = Field(
        default=None,
        pattern=r"^(me|none|[1-9][0-9]{0,9})$",
        description="`me` (your tickets), `none` (nobody's) or an agent's id (leads; an agent may give their own)",
    )
    customer: int | None = Field(default=None, ge=1, le=MAX_ROW_ID, description="a customer's id")
    requester: Annotated[Text, StringConstraints(max_length=320, to_lower=True)] | None = Field(
        default=None, description="the requester's email address"
    )
    priority: list[Priority] = Field(default_factory=list, max_length=len(Priority), description="any of these")
    tag: Annotated[Text, StringConstraints(max_length=100)] | None = None
    customer_tier: int | None = Field(
        default=None, ge=MIN_CUSTOMER_TIER, le=MAX_CUSTOMER_TIER, description="the customer's value tier at intake"
    )
    sla: SlaFilter | None = None
    min_age_hours: int | None = Field(default=None, ge=0, le=MAX_AGE_HOURS, description="opened at least this long ago")
    max_age_hours: int | None = Field(default=None, ge=0, le=MAX_AGE_HOURS, description="opened at most this long ago")
    q: Annotated[Text, StringConstraints(max_length=MAX_QUERY_CHARS)] | None = Field(
        default=None, description="full text: subject, messages, requester, customer"
    )
    sort: Sort | None = Field(default=None, description="`newest` by default, `relevance` with `q`")

    @field_validator("q", "tag", "requester", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """NUL characters dropped, as every text field of the API does (PostgreSQL refuses them)."""
        return value.replace("\x00", "") if isinstance(value, str) else value

    @field_validator("sort")
    @classmethod
    def _relevance_needs_q(cls, value: Sort | None, info: Any) -> Sort | None:
        if value == Sort.relevance and not info.data.get("q"):
            raise ValueError("sort=relevance needs q (a full-text query)")
        return value

    @property
    def order(self) -> Sort:
        return self.sort or (Sort.relevance if self.q else Sort.newest)

    def as_params(self) -> dict[str, Any]:
        """The query string's parameters (for links and saved views): only what is set."""
        return self.model_dump(mode="json", exclude_defaults=True)


class SavedFilters(TicketQuery):
    """A saved view's filters: the same model, and a key it does not know is a mistake worth a 422."""

    model_config = ConfigDict(extra="forbid")
