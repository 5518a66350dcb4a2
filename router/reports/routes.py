"""``GET /api/v1/reports/sla`` (JSON, CSV or HTML) and the ``/reports`` page; leads and admins only."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials

from router.agents import service as agents
from router.bounds import MOMENT_RANGE, AgentIdQuery, CustomerIdQuery, Moment, days_before
from router.deps import ContextDep, CurrentLead, SessionDep, bearer_scheme, current_agent, current_lead
from router.models.agents import Agent
from router.models.columns import utcnow
from router.openapi import LEADS_ONLY, SIGNED_IN_WITH_PARAMETERS, answer, problems
from router.rendering import zone_of
from router.reports import page_range, render
from router.reports import service as reports
from router.reports.csv import to_csv
from router.reports.queries import Filters
from router.reports.schemas import SlaReport
from router.web.render import page
from router.web.session import signed_in_id

api = APIRouter(prefix="/reports", tags=["reports"], responses=SIGNED_IN_WITH_PARAMETERS | LEADS_ONLY)
pages = APIRouter(tags=["reports"])


class Format(StrEnum):
    json = "json"
    csv = "csv"
    html = "html"


class Granularity(StrEnum):
    day = "day"
    week = "week"


async def report_filters(
    since: Annotated[
        Moment | None, Query(description=f"start of the window (default: 30 days before until); {MOMENT_RANGE}")
    ] = None,
    until: Annotated[
        Moment | None, Query(description=f"end of the window, exclusive, after since (default: now); {MOMENT_RANGE}")
    ] = None,
    customer_id: CustomerIdQuery = None,
    agent_id: AgentIdQuery = None,
    granularity: Granularity = Granularity.day,
) -> Filters:
    end = until or utcnow()
    return reports.make_filters(
        since or days_before(end, 30), end, customer_id=customer_id, agent_id=agent_id, granularity=granularity
    )


FiltersDep = Annotated[Filters, Depends(report_filters)]


@api.get(
    "/sla",
    response_model=SlaReport,
    responses={200: {"content": {"text/csv": {}, "text/html": {}}}},
)
async def sla_report(
    filters: FiltersDep, session: SessionDep, ctx: ContextDep, _lead: CurrentLead, format: Format = Format.json
) -> SlaReport | Response:
    """SLA compliance, breaches, time in tier, escalation paths, backlog, vendors and trends."""
    report = await reports.sla_report(session, filters)
    if format is Format.csv:
        return Response(
            to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="sla-report.csv"'},
        )
    if format is Format.html:
        return HTMLResponse(render.to_html(ctx.templates, report))
    return report


async def page_reader(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Agent | None:
    """A lead signed in to the web UI (session cookie) or calling with a bearer token; None: nobody yet."""
    if credentials is not None:
        agent = await current_agent(session, credentials)
    else:
        agent_id = signed_in_id(request)
        found = await agents.active_agent(session, agent_id) if agent_id is not None else None
        if found is None:
            return None
        agent = found
    return await current_lead(agent)


@pages.get(
    "/reports",
    response_class=HTMLResponse,
    responses=answer(303, "no session or token: to the sign-in page")
    | problems(401, 403, 422, 503, also=("text/html",)),
)
async def reports_page(
    filters: FiltersDep,
    session: SessionDep,
    ctx: ContextDep,
    request: Request,
    lead: Annotated[Agent | None, Depends(page_reader)],
    from_day: Annotated[
        date | None, Query(alias="from", description="first day, in the agent's time zone (the date picker)")
    ] = None,
    to_day: Annotated[date | None, Query(alias="to", description="last day, included (the date picker)")] = None,
) -> Response:
    """The report as a page with the navigation bar, a date-range picker and inline SVG charts; a browser
    without a session is sent to sign in. ``from``/``to`` are days in the agent's time zone."""
    if lead is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/login?{urlencode({'next': target})}", status_code=303)
    zone = zone_of(lead)
    filters = page_range.with_days(filters, from_day, to_day, zone)
    report = await reports.sla_report(session, filters)
    return page(
        request,
        ctx,
        "web/reports.html",
        agent=lead,
        headers={"Content-Security-Policy": page_range.CSP},
        picked=page_range.picked(filters, zone),
        **render.context(report, zone),
    )
