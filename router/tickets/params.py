"""The ticket list's query parameters as FastAPI dependencies (the API's ``GET /tickets`` and a saved view's
tickets share them): filters for the acting agent, and the page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from router.bounds import Offset
from router.deps import CurrentActor
from router.errors import Invalid
from router.tickets import listing
from router.tickets.filters import TicketQuery


async def ticket_filters(actor: CurrentActor, query: Annotated[TicketQuery, Query()]) -> listing.TicketFilters:
    return listing.filters_for(actor, query)


async def page_request(
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(min_length=1, max_length=120, description="the previous page's `next_cursor`")
    ] = None,
) -> listing.PageRequest:
    if cursor is not None and offset:
        raise Invalid("give cursor or offset, not both", field="cursor")
    return listing.PageRequest(limit=limit, offset=offset, cursor=cursor)


TicketFiltersDep = Annotated[listing.TicketFilters, Depends(ticket_filters)]
PageDep = Annotated[listing.PageRequest, Depends(page_request)]
