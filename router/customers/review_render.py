"""The quarterly tier review as CSV (one row per customer, then the summary's figures) and as a standalone
HTML file (the command line's ``--format html``; the page with the navigation bar shares its body)."""

from __future__ import annotations

import csv
import io

from jinja2 import Environment

from router.customers.review_schemas import TierReviewReport

COLUMNS = (
    "customer_id", "external_ref", "name", "current_tier", "onboarding_tier", "highest_tier", "tier_at_start",
    "tier_at_end", "tickets", "cost_to_serve", "sla_met", "sla_breached", "sla_compliance", "flags",
    "review_reason", "review_closed",
)  # fmt: skip


def to_csv(report: TierReviewReport) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in report.customers:
        w.writerow(
            [
                r.customer_id, r.external_ref, r.name, r.current_tier, r.onboarding_tier, r.highest_tier,
                "" if r.tier_at_start is None else r.tier_at_start, r.tier_at_end, r.tickets, r.cost_to_serve,
                r.sla_met, r.sla_breached, "" if r.sla_compliance is None else r.sla_compliance, " ".join(r.flags),
                r.review.reason if r.review else "", r.review.closed if r.review else "",
            ]
        )  # fmt: skip
    w.writerow([])
    w.writerow(["summary", "key", "value"])
    w.writerow(["quarter", "", report.quarter])
    for t in report.transitions:
        w.writerow(["transition", f"{t.from_tier}->{t.to_tier}", t.customers])
    w.writerow(["slipped", "", report.slipped])
    w.writerow(["risen", "", report.risen])
    for q in report.distribution:
        for tier, n in q.customers.items():
            w.writerow(["distribution", f"{q.quarter} tier {tier}", n])
    b = report.bottom_heavy
    for key, share in (("customers", b.customers_share), ("tickets", b.tickets_share), ("support_cost", b.cost_share)):
        w.writerow(["bottom_share", key, "" if share is None else share])
    return out.getvalue()


def to_html(templates: Environment, report: TierReviewReport) -> str:
    return templates.get_template("reports/tiers.html").render(report=report, review_links=False)
