"""Customer administration for leads and admins: list and search, add, edit, domains and contacts, and the
figures a CRM or billing system pushes (``POST /customers/{id}/metrics``, with a lead's API token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from router.bounds import Offset
from router.customers import metrics, queries
from router.customers import service as customers
from router.customers.schemas import (
    ContactIn,
    CustomerDetailOut,
    CustomerId,
    CustomerIn,
    CustomerList,
    CustomerOut,
    CustomerPatch,
    DomainIn,
    MetricsIn,
    MetricsRecordedOut,
)
from router.deps import CurrentLead, SessionDep
from router.errors import NotFound
from router.openapi import JSON_BODY, LEADS_ONLY, SIGNED_IN_WITH_PARAMETERS, answer, problems
from router.problems import require_json
from rules.vocabulary import MAX_CUSTOMER_TIER, MIN_CUSTOMER_TIER

api = APIRouter(prefix="/customers", tags=["customers"], responses=SIGNED_IN_WITH_PARAMETERS | LEADS_ONLY)
JsonBody = [Depends(require_json)]
ONE_CUSTOMER = problems(404)
CHANGE = ONE_CUSTOMER | JSON_BODY | problems(409)
Domain = Annotated[str, Path(min_length=1, max_length=253, description="one of the customer's mail domains")]
Email = Annotated[str, Path(min_length=3, max_length=320, description="one of the customer's contacts")]


async def _detail(session: SessionDep, customer_id: int) -> CustomerDetailOut:
    found = await queries.detail(session, customer_id)
    if found is None:
        raise NotFound(f"there is no customer {customer_id}")
    return CustomerDetailOut.of(found)


@api.get("", response_model=CustomerList)
async def list_customers(
    session: SessionDep,
    _lead: CurrentLead,
    q: Annotated[str, Query(max_length=200, description="part of a name, reference, domain or contact")] = "",
    tier: Annotated[int | None, Query(ge=MIN_CUSTOMER_TIER, le=MAX_CUSTOMER_TIER, description="value tier")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=600, description="the previous page's next_cursor")] = None,
) -> CustomerList:
    """Customers by name; ``q`` searches names, references, domains and contacts (any case); pages by
    ``cursor`` (keyset) or ``offset``."""
    found = await queries.search(session, q.replace("\x00", ""), tier=tier, offset=offset, limit=limit, cursor=cursor)
    return CustomerList(
        items=[CustomerOut.model_validate(c) for c in found.customers], total=found.total, next_cursor=found.next_cursor
    )


@api.post(
    "", response_model=CustomerDetailOut, status_code=201, dependencies=JsonBody, responses=JSON_BODY | problems(409)
)
async def add_customer(body: CustomerIn, session: SessionDep, lead: CurrentLead) -> CustomerDetailOut:
    """A new customer; a reference, domain or contact another customer holds is a 409. Audited."""
    customer = await customers.add_customer(
        session,
        lead,
        external_ref=body.external_ref,
        name=body.name,
        tier=body.tier,
        domains=body.domains,
        contacts=body.contacts,
    )
    await session.flush()
    assert customer.id is not None
    return await _detail(session, customer.id)


@api.get("/{customer_id}", response_model=CustomerDetailOut, responses=ONE_CUSTOMER)
async def get_customer(customer_id: CustomerId, session: SessionDep, _lead: CurrentLead) -> CustomerDetailOut:
    """The customer with its domains, contacts and value-tier history."""
    return await _detail(session, customer_id)


@api.patch("/{customer_id}", response_model=CustomerDetailOut, dependencies=JsonBody, responses=CHANGE)
async def change_customer(
    customer_id: CustomerId, body: CustomerPatch, session: SessionDep, lead: CurrentLead
) -> CustomerDetailOut:
    """Rename, a new reference, attributes merged (null removes one), another value tier (with a reason, kept
    in its history). Audited."""
    customer = await customers.get_customer(session, customer_id)
    await customers.edit_customer(
        session,
        lead,
        customer,
        name=body.name,
        external_ref=body.external_ref,
        tier=body.value_tier,
        reason=body.reason,
        attributes=body.attributes,
        account_owner_id=body.account_owner_id,
    )
    await session.flush()
    return await _detail(session, customer_id)


@api.post("/{customer_id}/domains", response_model=CustomerDetailOut, dependencies=JsonBody, responses=CHANGE)
async def add_domain(
    customer_id: CustomerId, body: DomainIn, session: SessionDep, lead: CurrentLead
) -> CustomerDetailOut:
    """Senders from this domain belong to the customer; a domain another customer has is a 409. Audited."""
    await customers.add_domain(session, lead, await customers.get_customer(session, customer_id), body.domain)
    await session.flush()
    return await _detail(session, customer_id)


@api.delete(
    "/{customer_id}/domains/{domain}", status_code=204, responses=ONE_CUSTOMER | answer(204, "the domain is removed")
)
async def remove_domain(customer_id: CustomerId, domain: Domain, session: SessionDep, lead: CurrentLead) -> Response:
    await customers.remove_domain(session, lead, await customers.get_customer(session, customer_id), domain)
    return Response(status_code=204)


@api.post("/{customer_id}/contacts", response_model=CustomerDetailOut, dependencies=JsonBody, responses=CHANGE)
async def add_contact(
    customer_id: CustomerId, body: ContactIn, session: SessionDep, lead: CurrentLead
) -> CustomerDetailOut:
    """A person of the customer; an address another customer holds is a 409. Audited."""
    await customers.add_contact(session, lead, await customers.get_customer(session, customer_id), body.email)
    await session.flush()
    return await _detail(session, customer_id)


@api.delete(
    "/{customer_id}/contacts/{email}", status_code=204, responses=ONE_CUSTOMER | answer(204, "the contact is removed")
)
async def remove_contact(customer_id: CustomerId, email: Email, session: SessionDep, lead: CurrentLead) -> Response:
    await customers.remove_contact(session, lead, await customers.get_customer(session, customer_id), email)
    return Response(status_code=204)


@api.post(
    "/{customer_id}/metrics",
    response_model=MetricsRecordedOut,
    dependencies=JsonBody,
    responses=ONE_CUSTOMER | JSON_BODY,
)
async def record_metrics(
    customer_id: CustomerId, body: MetricsIn, session: SessionDep, lead: CurrentLead
) -> MetricsRecordedOut:
    """Record a batch of the customer's figures (a CRM or billing system, with a lead's API token): each
    ``{period, metric, value, source}`` once per batch; the same figure sent again changes nothing, a new
    value replaces the old one. Audited when anything changed."""
    customer = await customers.get_customer(session, customer_id)
    done = await metrics.record_metrics(session, lead, customer, [m.figure() for m in body.metrics])
    return MetricsRecordedOut(created=done.created, updated=done.updated, unchanged=done.unchanged)
