"""The quarterly tier review at production size (~100,000 customers): the customer list filtered by flag and
tier and paged (API cursor, page numbers on the page), the counts per filter and the flagged sign-off progress,
checked exactly against the hand-built fixture of ``test_quarter_review`` on both databases; wrong filter
values as a 422 problem and a 422 page; the review computed on the reports' side loop, never the request's."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import httpx
import pytest

from queues.runtime import Runtime
from router.customers import review_view
from router.customers.quarter_review import tier_review_report
from router.customers.review_view import FlagFilter, ReviewFilter
from router.reports import tier_review
from rules.vocabulary import TierScale
from tests.conftest import auth, make_agent
from tests.customers.test_cost import NOW, RATES
from tests.customers.test_quarter_review import Q4, fixture
from tests.web.helpers import csrf_of, sign_in, web_agent

#: The fixture's counts with no tier filter: acme (below best, at risk, moved 1 -> 2), beta and delta (above
#: onboarding), gamma (new) and zeta (no flag).
BY_FLAG = {"any": 3, "all": 5, "below_best": 1, "above_onboarding": 2, "at_risk": 1, "moved": 1}
FORM = '<form method="post" action="/reports/tiers/reviews"'


def refs(page: Any) -> list[str]:
    return [r.external_ref for r in page.customers]


def listed(html: str) -> list[str]:
    return re.findall(r'<tr data-customer="([^"]+)"', html)


async def test_filters_counts_and_pages_are_exact(runtime: Runtime) -> None:
    ids = await fixture(runtime)
    async with runtime.app.sessionmaker() as s:
        report = await tier_review_report(s, Q4, TierScale(best=1), RATES, now=NOW)
    assert (report.customers_total, report.flagged, report.flagged_signed_off) == (5, 3, 0)
    assert [r.external_ref for r in report.customers if r.moved] == ["acme"]

    first = review_view.numbered_page(report, ReviewFilter(), 1, size=2)
    s = first.selection
    assert (refs(first), s.flag, s.tier, s.matching, s.offset, s.limit) == (["acme", "beta"], "any", None, 3, 0, 2)
    assert s.by_flag == BY_FLAG
    assert s.by_tier == {"1": 0, "2": 2, "3": 1, "4": 0}
    assert s.next_cursor == str(ids["beta"])
    second = review_view.numbered_page(report, ReviewFilter(), 2, size=2)
    assert (refs(second), second.selection.offset, second.selection.next_cursor) == (["delta"], 2, None)
    assert refs(review_view.numbered_page(report, ReviewFilter(), 9, size=2)) == ["delta"]  # the last page
    # The summary is whole whatever the page lists.
    for name in ("transitions", "slipped", "risen", "distribution", "bottom_heavy", "customers_total", "flagged"):
        assert getattr(second, name) == getattr(report, name), name

    # Each single flag, and the tier filter (the current tier) with the counts under it.
    singles = {flag: refs(review_view.numbered_page(report, ReviewFilter(flag), 1)) for flag in FlagFilter}
    assert singles == {
        "any": ["acme", "beta", "delta"], "all": ["acme", "beta", "gamma", "delta", "zeta"], "below_best": ["acme"],
        "above_onboarding": ["beta", "delta"], "at_risk": ["acme"], "moved": ["acme"],
    }  # fmt: skip
    third = review_view.numbered_page(report, ReviewFilter(FlagFilter.all, 3), 1)
    assert refs(third) == ["delta", "zeta"]
    assert third.selection.by_flag == {
        "any": 1, "all": 2, "below_best": 0, "above_onboarding": 1, "at_risk": 0, "moved": 0
    }  # fmt: skip
    assert third.selection.by_tier == {"1": 0, "2": 2, "3": 2, "4": 1}
    assert refs(review_view.numbered_page(report, ReviewFilter(FlagFilter.moved, 3), 1)) == []

    # The API's cursor: the last customer id of the previous page.
    walked: list[str] = []
    cursor = 0
    while True:
        got = review_view.after_cursor(report, ReviewFilter(FlagFilter.all), cursor, 2)
        walked.append(",".join(refs(got)))
        if got.selection.next_cursor is None:
            break
        cursor = review_view.parse_cursor(got.selection.next_cursor)
    assert walked == ["acme,beta", "gamma,delta", "zeta"]
    csv_rows = review_view.filtered(report, ReviewFilter(FlagFilter.above_onboarding)).customers
    assert [r.external_ref for r in csv_rows] == ["beta", "delta"]


async def test_the_api_filters_and_pages(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ids = await fixture(runtime)
    _, token = await make_agent(runtime, role="lead", tiers=())
    url = "/api/v1/reports/tiers"

    async def get(**params: Any) -> httpx.Response:
        return await client.get(url, params={"quarter": "2026Q4", **params}, headers=auth(token))

    whole = (await get()).json()  # the API's default: every customer, 100 a page
    assert [c["external_ref"] for c in whole["customers"]] == ["acme", "beta", "gamma", "delta", "zeta"]
    sel = whole["selection"]
    assert (sel["flag"], sel["matching"], sel["limit"], sel["next_cursor"], sel["by_flag"]) == (
        "all", 5, 100, None, BY_FLAG,
    )  # fmt: skip
    assert (whole["customers_total"], whole["flagged"], whole["flagged_signed_off"], whole["slipped"]) == (5, 3, 0, 1)
    assert [c["moved"] for c in whole["customers"]] == [True, False, False, False, False]

    first = (await get(flag="any", limit=2)).json()
    assert [c["external_ref"] for c in first["customers"]] == ["acme", "beta"]
    assert first["selection"]["next_cursor"] == str(ids["beta"]) and len(first["transitions"]) == 16
    rest = (await get(flag="any", limit=2, cursor=first["selection"]["next_cursor"])).json()
    assert [c["external_ref"] for c in rest["customers"]] == ["delta"]
    assert (rest["selection"]["offset"], rest["selection"]["next_cursor"]) == (2, None)
    tier3 = (await get(tier=3)).json()
    assert [c["external_ref"] for c in tier3["customers"]] == ["delta", "zeta"]
    assert tier3["selection"]["by_tier"] == {"1": 0, "2": 2, "3": 2, "4": 1}

    # CSV: every customer the filters pass (no paging), the summary whole.
    csv = (await get(format="csv", flag="above_onboarding", limit=1)).text
    assert [line.split(",")[1] for line in csv.split("\n\n")[0].splitlines()[1:]] == ["beta", "delta"]
    assert "slipped,,1" in csv and "transition,1->2,1" in csv
    html = (await get(format="html", flag="at_risk")).text
    assert listed(html) == ["acme"] and 'data-matching="1"' in html and 'data-slipped="1"' in html

    for wrong in ({"flag": "vibes"}, {"tier": "7"}, {"tier": "x"}, {"limit": "0"}, {"limit": "1001"},
                  {"cursor": "abc"}, {"cursor": "-1"}):  # fmt: skip
        bad = await get(**wrong)
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json", wrong
        assert next(iter(wrong)) in bad.json()["detail"], bad.json()


async def test_the_page_filters_pages_and_signs_off(
    runtime: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await fixture(runtime)
    lead = await web_agent(runtime, role="lead", tiers=())
    await sign_in(client, lead)

    async def get(**params: Any) -> httpx.Response:
        return await client.get("/reports/tiers", params={"quarter": "2026Q4", **params})

    page = await get()  # default: flagged customers only, a form for each row shown
    assert page.status_code == 200
    assert listed(page.text) == ["acme", "beta", "delta"] and page.text.count(FORM) == 3
    for flag, n in BY_FLAG.items():
        assert re.search(rf'data-flag-count="{flag}">[^<]*\({n}\)<', page.text), flag
    assert re.search(r'data-tier-count="2">tier 2 \(2\)<', page.text)
    assert 'data-flagged="3" data-flagged-signed-off="0"' in page.text and "Signed off 0 of 3 flagged" in page.text
    assert 'data-slipped="1" data-risen="0"' in page.text and 'rel="next"' not in page.text

    everyone = await get(flag="all", tier="3")
    assert listed(everyone.text) == ["delta", "zeta"] and everyone.text.count(FORM) == 2

    monkeypatch.setattr(review_view, "PAGE_SIZE", 2)
    one = await get()
    assert listed(one.text) == ["acme", "beta"] and one.text.count(FORM) == 2
    assert 'href="/reports/tiers?quarter=2026Q4&amp;page=2" rel="next"' in one.text
    two = await get(page="2")
    assert listed(two.text) == ["delta"] and 'href="/reports/tiers?quarter=2026Q4" rel="prev"' in two.text
    assert "page 2 of 2" in two.text

    # Signing off from page 2 goes back to page 2, at that customer, and the progress moves.
    saved = await client.post(
        "/reports/tiers/reviews",
        data={"csrf_token": csrf_of(two.text), "quarter": "2026Q4", "customer_id": str(ids["delta"]),
              "reason": "confirmed", "closed": "1", "flag": "any", "tier": "", "page": "2"},
    )  # fmt: skip
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/reports/tiers?quarter=2026Q4&page=2#customer-{ids['delta']}"
    after = await get(page="2")
    assert "Signed off 1 of 3 flagged" in after.text and "1 signed off" in after.text

    wrongs = (
        ({"flag": "vibes"}, "flag is one of any, all"), ({"tier": "7"}, "tier is a customer tier"),
        ({"page": "0"}, "page is a page number"), ({"quarter": "2026Q4" * 50}, "written like 2026Q4"),
    )  # fmt: skip
    for wrong, says in wrongs:
        bad = await get(**wrong)
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html"), wrong
        assert says in bad.text and "Tier review" in bad.text and FORM not in bad.text, wrong


async def test_the_review_runs_on_the_side_loop(
    runtime: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every format of the API and the page compute (and pick, and render) on the reports' loop; over its time
    limit the review is a 503 with a hint."""
    await fixture(runtime)
    _, token = await make_agent(runtime, role="lead", tiers=())
    threads: list[str] = []
    real = tier_review.tier_review_report

    async def recorded(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return await real(*args, **kwargs)

    monkeypatch.setattr(tier_review, "tier_review_report", recorded)
    for fmt in ("json", "csv", "html"):
        params = {"quarter": "2026Q4", "format": fmt}
        got = await client.get("/api/v1/reports/tiers", params=params, headers=auth(token))
        assert got.status_code == 200, got.text
    await sign_in(client, await web_agent(runtime, role="lead", tiers=()))
    assert (await client.get("/reports/tiers", params={"quarter": "2026Q4"})).status_code == 200
    assert threads == ["tierroute-reports"] * 4
    assert threading.current_thread().name != "tierroute-reports"

    async def endless(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(60)

    monkeypatch.setattr(tier_review, "tier_review_report", endless)
    monkeypatch.setattr(tier_review, "REVIEW_SECONDS", 0.05)
    slow = await client.get("/api/v1/reports/tiers", params={"quarter": "2026Q4"}, headers=auth(token))
    assert slow.status_code == 503 and slow.headers["content-type"] == "application/problem+json"
    assert "tierroute report tiers" in slow.json()["detail"] and slow.headers["retry-after"] == "5"
    page = await client.get("/reports/tiers", params={"quarter": "2026Q4"}, headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
