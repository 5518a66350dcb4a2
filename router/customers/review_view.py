"""Which customers of the quarterly tier review a page lists: the ``flag`` and ``tier`` filters, the counts
each filter would give, and pages of them in customer-id order (a cursor for the API, page numbers for the
page). The review has ~100,000 customers in production: the summary stays whole, the list never does.

Pure: the report is computed once (``router.customers.quarter_review``) and picked from here, off the
request loop (``router.reports.tier_review``)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import StrEnum

from router.customers.review_schemas import (
    CustomerReviewRow,
    ReviewSelection,
    TierReviewPage,
    TierReviewReport,
    TierReviewSummary,
)
from router.errors import Invalid
from rules.vocabulary import CUSTOMER_TIERS

#: Rows per page on ``/reports/tiers``.
PAGE_SIZE = 50
#: The API's default and largest ``limit``.
API_LIMIT, MAX_LIMIT = 100, 1000


class FlagFilter(StrEnum):
    any = "any"
    all = "all"
    below_best = "below_best"
    above_onboarding = "above_onboarding"
    at_risk = "at_risk"
    moved = "moved"


def flags_of(row: CustomerReviewRow) -> list[str]:
    """The row's flags with ``moved`` (kept out of ``flags``, whose meaning the exports fix)."""
    return [*row.flags, FlagFilter.moved.value] if row.moved else list(row.flags)


@dataclass(frozen=True)
class ReviewFilter:
    flag: FlagFilter = FlagFilter.any
    #: The current tier; None: every tier.
    tier: int | None = None

    def flag_admits(self, flags: list[str]) -> bool:
        """Whether a row with ``flags`` (``flags_of``) passes the flag filter."""
        if self.flag is FlagFilter.all:
            return True
        return bool(flags) if self.flag is FlagFilter.any else self.flag.value in flags

    def admits(self, row: CustomerReviewRow) -> bool:
        return (self.tier is None or row.current_tier == self.tier) and self.flag_admits(flags_of(row))


def parse_filter(flag: str | None, tier: str | None, *, default: FlagFilter) -> ReviewFilter:
    """The page's query text as a filter; a wrong value is a 422 naming the field and what it takes."""
    try:
        chosen = FlagFilter(flag) if flag else default
    except ValueError:
        raise Invalid(f"flag is one of {', '.join(FlagFilter)}, got {flag!r}", field="flag") from None
    if not tier:
        return ReviewFilter(chosen, None)
    if not (tier.isascii() and tier.isdigit()) or int(tier) not in CUSTOMER_TIERS:
        tiers = f"{CUSTOMER_TIERS.start} to {CUSTOMER_TIERS.stop - 1}"
        raise Invalid(f"tier is a customer tier, {tiers}, got {tier!r}", field="tier")
    return ReviewFilter(chosen, int(tier))


def parse_page(text: str | None) -> int:
    """``page=`` (from 1); anything else is a 422 naming the field."""
    if not text:
        return 1
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 10**6:
        raise Invalid(f"page is a page number from 1, got {text!r}", field="page")
    return int(text)


def parse_cursor(text: str | None) -> int:
    """The API's ``cursor``: the last customer id of the previous page (as the previous answer gave it)."""
    if not text:
        return 0
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise Invalid(f"cursor is the next_cursor of the previous page, got {text!r}", field="cursor")
    return int(text)


def filtered(report: TierReviewReport, f: ReviewFilter) -> TierReviewReport:
    """The whole report with only the customers ``f`` admits (the CSV export); the summary stays whole."""
    return report.model_copy(update={"customers": [r for r in report.customers if f.admits(r)]})


def _selection(report: TierReviewReport, f: ReviewFilter) -> tuple[list[CustomerReviewRow], ReviewSelection]:
    by_flag = dict.fromkeys(FlagFilter, 0)
    by_tier = dict.fromkeys(report.tiers, 0)
    matching: list[CustomerReviewRow] = []
    for r in report.customers:
        flags = flags_of(r)
        in_tier = f.tier is None or r.current_tier == f.tier
        if in_tier:
            by_flag[FlagFilter.all] += 1
            by_flag[FlagFilter.any] += bool(flags)
            for name in flags:
                by_flag[FlagFilter(name)] += 1
        if f.flag_admits(flags):
            by_tier[r.current_tier] += 1
            if in_tier:
                matching.append(r)
    selection = ReviewSelection(
        flag=f.flag.value, tier=f.tier, matching=len(matching), by_flag={k.value: n for k, n in by_flag.items()},
        by_tier={str(t): n for t, n in by_tier.items()}, offset=0, limit=0, next_cursor=None,
    )  # fmt: skip
    return matching, selection


def _page(
    report: TierReviewReport, matching: list[CustomerReviewRow], selection: ReviewSelection, offset: int, limit: int
) -> TierReviewPage:
    shown = matching[offset : offset + limit]
    more = offset + limit < len(matching)
    selection = selection.model_copy(
        update={"offset": offset, "limit": limit, "next_cursor": str(shown[-1].customer_id) if more else None}
    )
    summary = {name: getattr(report, name) for name in TierReviewSummary.model_fields}
    return TierReviewPage(**summary, customers=shown, selection=selection)


def after_cursor(report: TierReviewReport, f: ReviewFilter, cursor: int, limit: int) -> TierReviewPage:
    """The first ``limit`` matching customers with an id above ``cursor`` (0: from the first)."""
    matching, selection = _selection(report, f)
    offset = bisect.bisect_right([r.customer_id for r in matching], cursor)
    return _page(report, matching, selection, offset, limit)


def numbered_page(report: TierReviewReport, f: ReviewFilter, page: int, size: int | None = None) -> TierReviewPage:
    """Page ``page`` (from 1) of the matching customers, ``size`` a page (default ``PAGE_SIZE``); past the last
    page, the last page."""
    size = size or PAGE_SIZE
    matching, selection = _selection(report, f)
    last = max(1, -(-len(matching) // size))
    return _page(report, matching, selection, (min(page, last) - 1) * size, size)
