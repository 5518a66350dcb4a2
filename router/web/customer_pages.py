"""The customer page for leads (``/ui/customers/{id}``): tier, history as a timeline, score, metrics, open
tickets, cost to serve and banners. The list of customers is the administration's (``/ui/admin/customers``),
which links here."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from router.customers.page import customer_page
from router.customers.schemas import CustomerId
from router.deps import ContextDep, SessionDep
from router.errors import NotFound
from router.models.columns import utcnow
from router.web import csrf
from router.web.admin import WebLead
from router.web.errors import PREFIX
from router.web.render import page

customer_pages = APIRouter(prefix=f"{PREFIX}/customers", include_in_schema=False, dependencies=[Depends(csrf.protect)])


@customer_pages.get("/{customer_id}", response_class=HTMLResponse)
async def show_customer(
    request: Request, ctx: ContextDep, session: SessionDep, lead: WebLead, customer_id: CustomerId
) -> HTMLResponse:
    view = await customer_page(session, customer_id, ctx.tier_policy.current(), utcnow())
    if view is None:
        raise NotFound(f"there is no customer {customer_id}")
    return page(request, ctx, "web/customer.html", agent=lead, view=view)
