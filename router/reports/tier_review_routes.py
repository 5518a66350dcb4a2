"""The quarterly tier review: ``GET /api/v1/reports/tiers`` (JSON, CSV, HTML), the sign-off
``POST /api/v1/reports/tiers/reviews``, and the ``/reports/tiers`` page with its sign-off form; leads only.

The review is computed off the request loop (``router.reports.tier_review``); the summary is always whole,
the customers are filtered (``flag``, ``tier``) and paged (``router.customers.review_view``)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment

from router.customers import review_records, review_view
from router.customers.quarter_review import parse_quarter
from router.customers.review_render import to_csv, to_html
from router.customers.review_schemas import ReviewRecordIn, ReviewRecordOut, TierReviewPage, TierReviewReport
from router.customers.review_view import API_LIMIT, MAX_LIMIT, FlagFilter, ReviewFilter
from router.deps import ContextDep, CurrentLead, SessionDep
from router.errors import Invalid
from router.models.agents import Agent
from router.models.customers import ReviewReason
from router.openapi import JSON_BODY, LEADS_ONLY, SIGNED_IN_WITH_PARAMETERS, problems
from router.problems import require_json
from router.reports.routes import Format, page_reader
from router.reports.tier_review import tier_review_off_loop
from router.web import csrf
from router.web.render import page, page_context
from router.web.session import flash
from rules.review_periods import ReviewPeriod, period_of
from rules.vocabulary import MAX_CUSTOMER_TIER, MIN_CUSTOMER_TIER, customer_scale

api = APIRouter(prefix="/reports", tags=["reports"], responses=SIGNED_IN_WITH_PARAMETERS | LEADS_ONLY)
pages = APIRouter(tags=["reports"], include_in_schema=False, dependencies=[Depends(csrf.protect)])
QuarterQuery = Annotated[
    str | None, Query(max_length=7, description="the quarter, such as 2026Q4 (default: the current one)")
]
#: The page reads its query as text and answers a wrong value with a 422 page (never a JSON error).
PageText = Annotated[str | None, Query()]
PAGE = "/reports/tiers"
JSON = "application/json"
FLAG_HELP = (
    "`all` customers (the API's default), `any` flag (the page's), or one flag: `below_best`, `above_onboarding`, "
    "`at_risk`, `moved` (the tier at the end differs from the one at the start)"
)
_FORMATS: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}, "text/html": {}}}}


def _period(text: str | None) -> ReviewPeriod:
    if text is None or not text.strip():
        return period_of(datetime.now(UTC).date(), "quarterly")
    return parse_quarter(text[:40])


async def _review(ctx: ContextDep, period: ReviewPeriod, finish: Any) -> Any:
    rates = ctx.tier_policy.current().costs
    return await tier_review_off_loop(ctx.engine, period, customer_scale(), rates, finish)


@api.get(
    "/tiers",
    response_model=TierReviewPage,
    responses=_FORMATS | problems(503),
)
async def tiers_report(
    ctx: ContextDep,
    _lead: CurrentLead,
    quarter: QuarterQuery = None,
    format: Format = Format.json,
    flag: Annotated[FlagFilter, Query(description=FLAG_HELP)] = FlagFilter.all,
    tier: Annotated[
        int | None, Query(ge=MIN_CUSTOMER_TIER, le=MAX_CUSTOMER_TIER, description="only this current tier")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="customers per page (JSON and HTML)")] = API_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=12, description="the previous page's `selection.next_cursor`")
    ] = None,
) -> TierReviewPage | Response:
    """The quarterly tier review: per customer tiers, load, cost to serve, SLA compliance, flags and sign-off;
    the transition matrix, slips and rises, four quarters' distribution, the bottom-heavy diagnosis.

    The summary is always whole. ``customers`` lists those passing ``flag`` and ``tier``, ``limit`` at a time in
    customer-id order; ``selection`` says how many match, how many each ``flag`` and each tier would give, and
    ``next_cursor`` (pass it as ``cursor``; null on the last page). ``format=csv`` is the full export: every
    customer the filters pass, on one sheet. Computed off the request loop; 503 if it runs over a minute."""
    period = _period(quarter)
    chosen = ReviewFilter(flag, tier)
    after = review_view.parse_cursor(cursor)
    if format is Format.csv:
        return Response(
            await _review(ctx, period, lambda report: to_csv(review_view.filtered(report, chosen))),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="tier-review-{period.label}.csv"'},
        )

    def pick(report: TierReviewReport) -> TierReviewPage:
        return review_view.after_cursor(report, chosen, after, limit)

    if format is Format.html:
        return HTMLResponse(await _review(ctx, period, lambda report: to_html(ctx.templates, pick(report))))
    # Serialized there too: up to 1,000 rows through the response model would cost the loop tens of ms.
    return Response(await _review(ctx, period, lambda report: pick(report).model_dump_json()), media_type=JSON)


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


def _link(quarter: str, f: ReviewFilter, number: int = 1) -> str:
    """The page's address for a quarter, filter and page number (defaults left out)."""
    query: dict[str, str | int] = {"quarter": quarter}
    if f.flag is not FlagFilter.any:
        query["flag"] = f.flag.value
    if f.tier is not None:
        query["tier"] = f.tier
    if number > 1:
        query["page"] = number
    return f"{PAGE}?{urlencode(query)}"


def _render_page(
    templates: Environment, shell: dict[str, Any], f: ReviewFilter, number: int, report: TierReviewReport
) -> str:
    """The page of ``report`` (run off the loop: the counts and the rows walk every customer)."""
    shown = review_view.numbered_page(report, f, number)
    s = shown.selection
    number = s.offset // review_view.PAGE_SIZE + 1
    links = {
        "previous": _link(report.quarter, f, number - 1) if number > 1 else None,
        "next": _link(report.quarter, f, number + 1) if s.next_cursor is not None else None,
        "flags": {flag.value: _link(report.quarter, ReviewFilter(flag, f.tier)) for flag in FlagFilter},
        "tiers": {str(t): _link(report.quarter, ReviewFilter(f.flag, t)) for t in report.tiers},
        "every_tier": _link(report.quarter, ReviewFilter(f.flag, None)),
    }
    return templates.get_template("web/tier_review.html").render(
        **shell, report=shown, error=None, quarter=report.quarter, flag=f.flag.value, tier=f.tier, page_number=number,
        links=links, review_links=True,
    )  # fmt: skip


@pages.get(PAGE, response_class=HTMLResponse)
async def tiers_page(
    request: Request,
    ctx: ContextDep,
    lead: Annotated[Agent | None, Depends(page_reader)],
    quarter: PageText = None,
    flag: PageText = None,
    tier: PageText = None,
    page_number: Annotated[str | None, Query(alias="page")] = None,
) -> Response:
    """The review as a page with the navigation bar: the summary whole; the customers filtered by ``flag``
    (default ``any``: at least one flag; ``all``; or one flag) and ``tier`` (current tier), 50 a page, each
    with its sign-off form; the counts per filter and how many flagged are signed off. A wrong quarter, flag,
    tier or page is a 422 page that says what to type. Computed and rendered off the request loop."""
    if lead is None:
        return _sign_in(request)
    shell = {**page_context(request, ctx, agent=lead), "reasons": ReviewReason.ALL}
    try:
        period = _period(quarter)
        chosen = review_view.parse_filter(flag, tier, default=FlagFilter.any)
        number = review_view.parse_page(page_number)
    except Invalid as exc:
        return page(
            request, ctx, "web/tier_review.html", agent=lead, report=None, error=exc.detail,
            quarter=(quarter or "")[:7], flag=FlagFilter.any.value, tier=None, reasons=ReviewReason.ALL, status=422,
        )  # fmt: skip
    return HTMLResponse(await _review(ctx, period, partial(_render_page, ctx.templates, shell, chosen, number)))


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
    flag: Annotated[str, Form(max_length=32)] = "",
    tier: Annotated[str, Form(max_length=4)] = "",
    page_number: Annotated[str, Form(alias="page", max_length=8)] = "",
) -> RedirectResponse:
    """Save one customer's sign-off from the page's form; back to the same filtered page, at that customer."""
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
    try:
        chosen = review_view.parse_filter(flag, tier, default=FlagFilter.any)
        back = _link(record.quarter, chosen, review_view.parse_page(page_number))
    except Invalid:  # the form is ours: a changed one goes back to the first page
        back = _link(record.quarter, ReviewFilter())
    return RedirectResponse(f"{back}#customer-{customer_id}", status_code=303)
