"""Server-side rendering of the report: pygal SVG charts inlined into a self-contained HTML page.

The charts carry no JavaScript (``js=[]``, and pygal's inline config script is removed) and no XML
declaration, so the page works offline, under a strict Content-Security-Policy, and as an attachment.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import pygal
from jinja2 import Environment
from markupsafe import Markup
from pygal.style import Style

from router.rendering import local_time
from router.reports.queries import AGE_BUCKETS
from router.reports.schemas import Breakdown, SlaReport

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#222",
    foreground_strong="#111",
    foreground_subtle="#666",
    colors=("#2b6cb0", "#c05621", "#2f855a", "#b83280", "#6b46c1"),
    font_family="system-ui, sans-serif",
)


def _config(**extra: Any) -> dict[str, Any]:
    return {
        "style": STYLE,
        "disable_xml_declaration": True,
        "js": [],
        "width": 640,
        "height": 320,
        "explicit_size": True,
        "legend_at_bottom": True,
        "print_values": False,
        **extra,
    }


#: pygal always inlines a ``<script>`` holding its tooltip configuration, even with ``js=[]``.
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


def _svg(chart: Any) -> Markup:
    """The chart as inline SVG without any script (nothing would run it, and a CSP would refuse it)."""
    # pygal builds the SVG from our numbers and labels through ElementTree, which escapes the text.
    return Markup(_SCRIPT.sub("", chart.render(is_unicode=True)))


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def compliance_chart(groups: list[Breakdown], title: str) -> Markup:
    chart = pygal.Bar(**_config(title=title, range=(0, 100), y_title="% met"))
    chart.x_labels = [g.key for g in groups]
    chart.add("first response", [_percent(g.first_response_compliance) for g in groups])
    chart.add("resolution", [_percent(g.resolution_compliance) for g in groups])
    return _svg(chart)


def charts(report: SlaReport) -> dict[str, Markup]:
    """Every chart of the page, by name."""
    tier_time = pygal.Bar(**_config(title="Hours spent in each support tier", y_title="hours"))
    tier_time.x_labels = [f"tier {t.tier}" for t in report.time_in_tier]
    tier_time.add("total", [round(t.seconds / 3600, 2) for t in report.time_in_tier])
    tier_time.add("mean per stay", [round(t.mean_seconds / 3600, 2) for t in report.time_in_tier])

    paths = pygal.HorizontalBar(**_config(title="Escalations and de-escalations by path"))
    for p in report.escalation_paths:
        label = f"{p.from_tier}→{p.to_tier} " + (p.cause or "de-escalation")
        paths.add(label, [p.count])

    trend = pygal.Line(**_config(title=f"Per {report.granularity}", x_label_rotation=30))
    trend.x_labels = [p.bucket for p in report.trends]
    trend.add("tickets in", [p.tickets_in for p in report.trends])
    trend.add("tickets out", [p.tickets_out for p in report.trends])
    trend.add("SLA breaches", [p.breaches for p in report.trends])

    spread = pygal.Bar(**_config(title="Customers and tickets by customer value tier", y_title="% of total"))
    rows = report.customer_tiers.rows
    spread.x_labels = [f"tier {r.value_tier}" for r in rows]
    spread.add("customers", [_percent(r.customer_share) for r in rows])
    spread.add("tickets", [_percent(r.ticket_share) for r in rows])
    spread.add("resolution SLA met", [_percent(r.resolution_compliance) for r in rows])

    ageing = pygal.StackedBar(**_config(title="Open tickets by age"))
    buckets = [label for label, _ in AGE_BUCKETS]
    ageing.x_labels = buckets
    counts = {(a.bucket, a.support_tier): a.count for a in report.backlog}
    for tier in sorted({a.support_tier for a in report.backlog}, key=lambda t: -1 if t is None else t):
        ageing.add(f"tier {tier}" if tier is not None else "unrouted", [counts.get((b, tier)) for b in buckets])

    return {
        "by_support_tier": compliance_chart(report.by_support_tier, "SLA met by support tier"),
        "by_customer_tier": compliance_chart(report.by_customer_tier, "SLA met by customer tier"),
        "by_priority": compliance_chart(report.by_priority, "SLA met by priority"),
        "time_in_tier": _svg(tier_time),
        "paths": _svg(paths),
        "trends": _svg(trend),
        "customer_tiers": _svg(spread),
        "backlog": _svg(ageing),
    }


def duration(seconds: float | None) -> str:
    """``1 h 05 m`` style, for people (the JSON and CSV keep seconds)."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} m"
    return f"{hours / 24:.1f} d"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def first_day(moment: datetime, zone: tzinfo = UTC) -> date:
    """The day the window starts on, in ``zone``."""
    return moment.astimezone(zone).date()


def last_day(until: datetime, zone: tzinfo = UTC) -> date:
    """The last day inside a window that ends (exclusively) at ``until``: a window to midnight ends the day
    before; a window to now ends today."""
    return (until.astimezone(zone) - timedelta(microseconds=1)).date()


def context(report: SlaReport, zone: tzinfo = UTC) -> dict[str, Any]:
    """What ``reports/_body.html`` needs: the report, its charts and how to write figures, days and moments."""
    return {
        "report": report,
        "charts": charts(report),
        "duration": duration,
        "percent": percent,
        "first_day": lambda moment: first_day(moment, zone).isoformat(),
        "last_day": lambda moment: last_day(moment, zone).isoformat(),
        "moment": lambda moment: local_time(moment, zone),
        "zone_name": str(zone),
    }


def to_page(templates: Environment, zone: tzinfo, shell: dict[str, Any], report: SlaReport) -> str:
    """The report inside the web UI (``web/reports.html``: navigation bar, date-range picker); ``shell`` is
    what every UI page gets (``router.web.render.page_context``)."""
    return templates.get_template("web/reports.html").render(**shell, **context(report, zone))


def to_html(templates: Environment, report: SlaReport) -> str:
    """The report as a file of its own (styles inline, no scripts): ``format=html`` and the CLI."""
    return templates.get_template("reports/sla.html").render(**context(report))
