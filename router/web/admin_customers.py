"""Customer administration pages for leads and admins: list and search, add, edit (name, reference, value
tier), domains and contacts. Every change goes through ``router.customers.service`` (audited)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from router.customers import queries
from router.customers import service as customers
from router.customers.schemas import CustomerId
from router.deps import ContextDep, SessionDep
from router.errors import NotFound
from router.web import csrf
from router.web.admin import ADMIN, Line, Note, WebLead, log_context, see_other
from router.web.render import page
from router.web.session import flash
from rules.vocabulary import CUSTOMER_TIERS, MAX_CUSTOMER_TIER, MIN_CUSTOMER_TIER

admin_customers = APIRouter(prefix=f"{ADMIN}/customers", include_in_schema=False, dependencies=[Depends(csrf.protect)])
PAGE_SIZE = 50
TierField = Annotated[int, Form(ge=MIN_CUSTOMER_TIER, le=MAX_CUSTOMER_TIER)]
Lines = Annotated[str, Form(max_length=20_000)]


def _url(customer_id: int | None) -> str:
    return f"{ADMIN}/customers/{customer_id}"


def _lines(text: str) -> list[str]:
    """One value a line (or comma separated), as people paste lists."""
    return [part.strip() for line in text.replace("\x00", "").splitlines() for part in line.split(",") if part.strip()]


@admin_customers.get("", response_class=HTMLResponse)
async def list_customers(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    lead: WebLead,
    q: Annotated[str, Query(max_length=200)] = "",
    tier: Annotated[str, Query(max_length=1)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """Customers by name; the search looks in names, references, domains and contacts."""
    tier_filter = int(tier) if tier.isdigit() and int(tier) in CUSTOMER_TIERS else None
    query = q.replace("\x00", "").strip()
    found = await queries.search(
        session, query, tier=tier_filter, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return page(
        request,
        ctx,
        "web/admin/customers.html",
        agent=lead,
        found=found,
        q=query,
        tier=tier_filter,
        tiers=CUSTOMER_TIERS,
        page_number=page_number,
        pages=max(1, math.ceil(found.total / PAGE_SIZE)),
    )


@admin_customers.post("")
async def add_customer(
    request: Request,
    session: SessionDep,
    lead: WebLead,
    external_ref: Line,
    name: Line,
    tier: TierField,
    domains: Lines = "",
    contacts: Lines = "",
) -> RedirectResponse:
    """A reference, domain or contact another customer holds is a 409 page naming the holder."""
    customer = await customers.add_customer(
        session,
        lead,
        external_ref=external_ref,
        name=name,
        tier=tier,
        domains=_lines(domains),
        contacts=_lines(contacts),
    )
    flash(request, f"Customer {customer.name} added.")
    return see_other(_url(customer.id))


@admin_customers.get("/{customer_id}", response_class=HTMLResponse)
async def customer_page(
    request: Request, ctx: ContextDep, session: SessionDep, lead: WebLead, customer_id: CustomerId
) -> HTMLResponse:
    found = await queries.detail(session, customer_id)
    if found is None:
        raise NotFound(f"there is no customer {customer_id}")
    log = await log_context(session, customers.subject(found.card.customer))
    return page(request, ctx, "web/admin/customer.html", agent=lead, found=found, tiers=CUSTOMER_TIERS, **log)


@admin_customers.post("/{customer_id}")
async def change_customer(
    request: Request,
    session: SessionDep,
    lead: WebLead,
    customer_id: CustomerId,
    name: Line,
    external_ref: Line,
    tier: TierField,
    reason: Note = "",
) -> RedirectResponse:
    customer = await customers.get_customer(session, customer_id)
    await customers.edit_customer(
        session, lead, customer, name=name, external_ref=external_ref, tier=tier, reason=reason
    )
    flash(request, f"{customer.name} saved.")
    return see_other(_url(customer_id))


@admin_customers.post("/{customer_id}/domains")
async def add_domain(
    request: Request, session: SessionDep, lead: WebLead, customer_id: CustomerId, domain: Line
) -> RedirectResponse:
    added = await customers.add_domain(session, lead, await customers.get_customer(session, customer_id), domain)
    flash(request, f"Domain {added} added.")
    return see_other(_url(customer_id))


@admin_customers.post("/{customer_id}/domains/remove")
async def remove_domain(
    request: Request, session: SessionDep, lead: WebLead, customer_id: CustomerId, domain: Line
) -> RedirectResponse:
    await customers.remove_domain(session, lead, await customers.get_customer(session, customer_id), domain)
    flash(request, f"Domain {domain} removed.")
    return see_other(_url(customer_id))


@admin_customers.post("/{customer_id}/contacts")
async def add_contact(
    request: Request, session: SessionDep, lead: WebLead, customer_id: CustomerId, email: Line
) -> RedirectResponse:
    added = await customers.add_contact(session, lead, await customers.get_customer(session, customer_id), email)
    flash(request, f"Contact {added} added.")
    return see_other(_url(customer_id))


@admin_customers.post("/{customer_id}/contacts/remove")
async def remove_contact(
    request: Request, session: SessionDep, lead: WebLead, customer_id: CustomerId, email: Line
) -> RedirectResponse:
    await customers.remove_contact(session, lead, await customers.get_customer(session, customer_id), email)
    flash(request, f"Contact {email} removed.")
    return see_other(_url(customer_id))
