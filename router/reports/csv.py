"""The report as CSV: one long table ``section,dimension,key,metric,value`` that spreadsheets pivot easily."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from router.reports.schemas import Breakdown, SlaReport

HEADER = ("section", "dimension", "key", "metric", "value")


def _flat(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flat(f"{prefix}.{k}" if prefix else k, v)
    else:
        yield prefix, value


def _breakdown(b: Breakdown) -> Iterator[tuple[str, str, str, str, Any]]:
    for metric, value in _flat("", b.model_dump(exclude={"dimension", "key"})):
        yield "tickets", b.dimension, b.key, metric, value


def rows(report: SlaReport) -> Iterator[tuple[str, str, str, str, Any]]:
    """Every figure of the report, one per row (the period first)."""
    yield "period", "", "", "since", report.since.isoformat()
    yield "period", "", "", "until", report.until.isoformat()
    yield "period", "", "", "as_of", report.as_of.isoformat()
    for b in [report.totals, *report.by_support_tier, *report.by_customer_tier, *report.by_priority]:
        yield from _breakdown(b)
    for t in report.time_in_tier:
        yield "time_in_tier", "support_tier", str(t.tier), "stays", t.stays
        yield "time_in_tier", "support_tier", str(t.tier), "seconds", t.seconds
        yield "time_in_tier", "support_tier", str(t.tier), "mean_seconds", t.mean_seconds
    for path in report.escalation_paths:
        yield path.action, "path", f"{path.from_tier}->{path.to_tier}", path.cause or "", path.count
    for cause in report.escalations_by_cause:
        yield "escalations", "cause", cause.cause, "count", cause.count
    yield "deescalations", "", "", "count", report.deescalations
    for rule in report.top_rules:
        yield "top_rules", "rule", rule.rule, "tickets", rule.tickets
        yield "top_rules", "rule", rule.rule, "escalations", rule.escalations
    for c in report.top_customers:
        yield "top_customers", "customer", str(c.customer_id), "tickets", c.tickets
        yield "top_customers", "customer", str(c.customer_id), "escalations", c.escalations
    for a in report.backlog:
        yield "backlog", a.bucket, str(a.support_tier), "count", a.count
    for metric, value in _flat("", report.vendor.model_dump()):
        yield "vendor", "", "", metric, value
    for point in report.trends:
        for metric in ("tickets_in", "tickets_out", "breaches"):
            yield "trends", report.granularity, point.bucket, metric, getattr(point, metric)
    for r in report.customer_tiers.rows:
        for metric, value in r.model_dump(exclude={"value_tier"}).items():
            yield "customer_tiers", "value_tier", str(r.value_tier), metric, value
    yield "customer_tiers", "", "", "bottom_heavy", report.customer_tiers.bottom_heavy
    yield from _self_service(report)


def _self_service(report: SlaReport) -> Iterator[tuple[str, str, str, str, Any]]:
    figures = report.self_service
    for d in [*figures.by_customer_tier, figures.totals]:
        key = "all" if d.customer_tier is None else str(d.customer_tier)
        for metric, value in _flat("", d.model_dump(exclude={"customer_tier"})):
            yield "self_service", "customer_tier", key, metric, value
    for a in figures.articles:
        tier = "all" if a.customer_tier is None else str(a.customer_tier)
        for metric in ("suggested", "solved", "not_helpful", "helpful_ratio", "never_helps"):
            yield "self_service_articles", f"customer_tier {tier}", a.slug, metric, getattr(a, metric)


def to_csv(report: SlaReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for section, dimension, key, metric, value in rows(report):
        writer.writerow((section, dimension, key, metric, "" if value is None else value))
    return out.getvalue()
