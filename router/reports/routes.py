"""``GET /api/v1/reports/sla`` (JSON, CSV or HTML) and the ``/reports`` page; leads and admins only."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import partial
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials

from router.bounds import MOMENT_RANGE, AgentIdQuery, CustomerIdQuery, Moment, days_before
from router.deps import ContextDep, CurrentLead, SessionDep, bearer_scheme, current_agent, current_lead
from router.forecast import service as forecasts
from router.models.agents import Agent
from router.models.columns import utcnow
from router.openapi import LEADS_ONLY, SIGNED_IN_WITH_PARAMETERS, answer, problems
from router.rendering import zone_of
from router.reports import page_range, render
from router.reports import service as reports
from router.reports.csv import to_csv
from router.reports.queries import Filters
from router.reports.schemas import SlaReport
from router.security_headers import SELF_CONTAINED_PAGE_POLICY
from router.web.deps import signed_in_agent
from router.web.render import page_context

api = APIRouter(prefix="/reports", tags=["reports"], responses=SIGNED_IN_WITH_PARAMETERS | LEADS_ONLY)
#: The report page is self-contained (inline styles and charts); the other security headers come from
#: ``router.security_headers.HtmlSecurityHeaders`` like every HTML response's.
_PAGE_HEADERS = {"Content-Security-Policy": SELF_CONTAINED_PAGE_POLICY}
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
    filters: FiltersDep, ctx: ContextDep, _lead: CurrentLead, format: Format = Format.json
) -> SlaReport | Response:
    """SLA compliance, breaches, time in tier, escalation paths, backlog, vendors and trends (computed and
    rendered off the request loop: ``router.offload``)."""
    if format is Format.csv:
        return Response(
            await reports.sla_report_off_loop(ctx.engine, filters, to_csv),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="sla-report.csv"'},
        )
    if format is Format.html:
        page = await reports.sla_report_off_loop(ctx.engine, filters, partial(render.to_html, ctx.templates))
        return HTMLResponse(page, headers=_PAGE_HEADERS)
    return await reports.sla_report_off_loop(ctx.engine, filters, lambda report: report)


async def page_reader(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Agent | None:
    """A lead signed in to the web UI (session cookie) or calling with a bearer token; None: nobody yet."""
    if credentials is not None:
        agent = await current_agent(ctx, session, credentials)
    else:
        found = await signed_in_agent(request, session)
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
    ctx: ContextDep,
    session: SessionDep,
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
    # What the page needs from the request (CSRF token, notices) is read here; the rest renders off the loop.
    shell = {**page_context(request, ctx, agent=lead), "picked": page_range.picked(filters, zone)}
    shell["forecast"] = await forecasts.scores(session, filters.since, filters.until)
    html = await reports.sla_report_off_loop(ctx.engine, filters, partial(render.to_page, ctx.templates, zone, shell))
    return HTMLResponse(html, headers={"Content-Security-Policy": page_range.CSP})
