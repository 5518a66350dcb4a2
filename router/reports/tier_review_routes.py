"""The quarterly tier review: ``GET /api/v1/reports/tiers`` (JSON, CSV, HTML), the sign-off
``POST /api/v1/reports/tiers/reviews``, and the ``/reports/tiers`` page with its sign-off form; leads only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from router.customers import review_records
from router.customers.quarter_review import parse_quarter, tier_review_report
from router.customers.review_render import to_csv, to_html
from router.customers.review_schemas import ReviewRecordIn, ReviewRecordOut, TierReviewReport
from router.deps import ContextDep, CurrentLead, SessionDep
from router.errors import Invalid
from router.models.agents import Agent
from router.models.customers import ReviewReason
from router.openapi import JSON_BODY, LEADS_ONLY, SIGNED_IN_WITH_PARAMETERS, problems
from router.problems import require_json
from router.reports.routes import Format, page_reader
from router.web import csrf
from router.web.render import page
from router.web.session import flash
from rules.review_periods import period_of
from rules.vocabulary import customer_scale

api = APIRouter(prefix="/reports", tags=["reports"], responses=SIGNED_IN_WITH_PARAMETERS | LEADS_ONLY)
pages = APIRouter(tags=["reports"], include_in_schema=False, dependencies=[Depends(csrf.protect)])
QuarterQuery = Annotated[
    str | None, Query(max_length=7, description="the quarter, such as 2026Q4 (default: the current one)")
]
PAGE = "/reports/tiers"


def _quarter(text: str | None) -> str:
    return text if text is not None else period_of(datetime.now(UTC).date(), "quarterly").label


async def _report(ctx: ContextDep, session: SessionDep, quarter: str | None) -> TierReviewReport:
    policy = ctx.tier_policy.current()
    return await tier_review_report(session, parse_quarter(_quarter(quarter)), customer_scale(), policy.costs)


@api.get("/tiers", response_model=TierReviewReport, responses={200: {"content": {"text/csv": {}, "text/html": {}}}})
async def tiers_report(
    ctx: ContextDep, session: SessionDep, _lead: CurrentLead, quarter: QuarterQuery = None, format: Format = Format.json
) -> TierReviewReport | Response:
    """The quarterly tier review: per customer tiers, load, cost to serve, SLA compliance, flags and sign-off;
    the transition matrix, slips and rises, four quarters' distribution, the bottom-heavy diagnosis."""
    report = await _report(ctx, session, quarter)
    if format is Format.csv:
        return Response(
            to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="tier-review-{report.quarter}.csv"'},
        )
    if format is Format.html:
        return HTMLResponse(to_html(ctx.templates, report))
    return report


@api.post(
    "/tiers/reviews",
    response_model=ReviewRecordOut,
    dependencies=[Depends(require_json)],
    responses=problems(404) | JSON_BODY,
)
async def record_review(body: ReviewRecordIn, session: SessionDep, lead: CurrentLead) -> ReviewRecordOut:
    """Make, change or close (sign off) the review record of one customer in one quarter (audited)."""
    return ReviewRecordOut.of(await review_records.record(session, lead, body))


def _sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/ui/login?{urlencode({'next': target})}", status_code=303)


@pages.get(PAGE, response_class=HTMLResponse)
async def tiers_page(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    lead: Annotated[Agent | None, Depends(page_reader)],
    quarter: QuarterQuery = None,
) -> Response:
    """The review as a page with the navigation bar and a sign-off form per customer; a bad quarter is a 422
    page that says what to type."""
    if lead is None:
        return _sign_in(request)
    try:
        report = await _report(ctx, session, quarter)
    except Invalid as exc:
        return page(
            request, ctx, "web/tier_review.html", agent=lead, report=None, error=exc.detail, quarter=quarter or "",
            reasons=ReviewReason.ALL, status=422,
        )  # fmt: skip
    return page(
        request, ctx, "web/tier_review.html", agent=lead, report=report, error=None, quarter=report.quarter,
        reasons=ReviewReason.ALL, review_links=True,
    )  # fmt: skip


@pages.post(f"{PAGE}/reviews")
async def record_review_form(
    request: Request,
    session: SessionDep,
    lead: Annotated[Agent | None, Depends(page_reader)],
    quarter: Annotated[str, Form(max_length=7)],
    customer_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    reason: Annotated[str, Form(max_length=32)],
    notes: Annotated[str, Form(max_length=2000)] = "",
    owner_id: Annotated[str, Form(max_length=12)] = "",
    closed: Annotated[str, Form(max_length=5)] = "",
) -> RedirectResponse:
    if lead is None:
        return _sign_in(request)
    if reason not in ReviewReason.ALL:
        raise Invalid(f"reason is one of {', '.join(ReviewReason.ALL)}", field="reason")
    owner = int(owner_id) if owner_id.strip().isdigit() else None
    wanted = ReviewRecordIn(
        quarter=quarter, customer_id=customer_id, owner_id=owner, reason=reason, notes=notes, closed=bool(closed)
    )
    record = await review_records.record(session, lead, wanted)
    flash(
        request,
        f"Review of customer {customer_id} for {record.quarter} saved{' and signed off' if record.closed else ''}.",
    )
    return RedirectResponse(f"{PAGE}?{urlencode({'quarter': record.quarter})}#customer-{customer_id}", status_code=303)
