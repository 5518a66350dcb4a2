"""What a number or a moment in a request may be: what its column holds and what the code can compute.

Out of range is a 422 (or a 404 for an id that cannot exist) at the edge, never an overflow in the
database driver, Redis or ``datetime`` arithmetic (issue 16 item 19). Every route takes its ids, offsets
and moments through these types, so one change here moves every bound together.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime

#: Primary keys are ``INTEGER``: 32 bits on PostgreSQL (SQLite's would hold 64).
MAX_ROW_ID = 2**31 - 1
#: An offset past every row there can be; it also keeps ``offset + limit`` inside Redis's 64-bit ranges.
MAX_OFFSET = MAX_ROW_ID

#: Report windows: wide enough for "all history", narrow enough that a window, its default start
#: (30 days before its end), the day and week arithmetic over it and its conversion to any time zone stay
#: inside ``datetime``.
EARLIEST_MOMENT = datetime(1, 1, 2, tzinfo=UTC)
LATEST_MOMENT = datetime(9000, 1, 1, tzinfo=UTC)


MOMENT_RANGE = f"between {EARLIEST_MOMENT.date().isoformat()} and {LATEST_MOMENT.date().isoformat()}, with a time zone"


def _computable(moment: datetime) -> datetime:
    if not EARLIEST_MOMENT <= moment <= LATEST_MOMENT:
        raise ValueError(f"must be {MOMENT_RANGE}")
    return moment


def days_before(moment: datetime, days: int) -> datetime:
    """``moment`` minus ``days``, or the earliest moment a window may start."""
    return moment - timedelta(days=days) if moment - EARLIEST_MOMENT > timedelta(days=days) else EARLIEST_MOMENT


#: A timezone-aware moment within ``EARLIEST_MOMENT`` .. ``LATEST_MOMENT``.
Moment = Annotated[AwareDatetime, AfterValidator(_computable)]

TicketId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the ticket's id")]
AttachmentId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the attachment's id")]
CustomerIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="only this customer's tickets")]
AgentIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="tickets this agent acted on")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="how many items to skip")]
