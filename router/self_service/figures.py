"""Self-service figures (``docs/self-service.md``): deflection rate, escalations after a suggestion, the
helpful ratio of each article and the articles that never help, all by customer tier.

The cohort is the report's: tickets created in ``[since, until)`` (after its customer and agent filters).
Everything is read from the ticket rows, their audit trail, the suggestions and the used links, and counted
by the database (SQLAlchemy Core: the same statements on PostgreSQL and SQLite).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.sql import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models import metadata
from router.models.self_service import DEFLECTED_BY_REPLY, DEFLECTED_PREFIX, Feedback
from router.models.tickets import Status
from router.reports.sql import Filters, fetch_rows, scoped
from router.self_service.schemas import ArticleRow, DeflectionRow, SelfServiceFigures
from rules.vocabulary import CUSTOMER_TIERS, SELF_SERVICE_TIER

ticket = metadata.tables["ticket"]
audit = metadata.tables["audit_event"]
suggestion = metadata.tables["kb_suggestion"]
link_use = metadata.tables["kb_link_use"]
#: An article suggested this often without ever solving a ticket "never helps".
NEVER_HELPS_AFTER = 5


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _cohort(f: Filters) -> list[ColumnElement[bool]]:
    return [ticket.c.created_at >= f.since, ticket.c.created_at < f.until, *scoped(f, ticket)]


def _routed_to_self_service() -> ColumnElement[bool]:
    routed = audit.alias("routed")
    return exists().where(
        routed.c.ticket_id == ticket.c.id, routed.c.action == "routed", routed.c.to_tier == SELF_SERVICE_TIER
    )


def _first_suggested() -> Any:
    first = suggestion.alias("first")
    return select(func.min(first.c.suggested_at)).where(first.c.ticket_id == ticket.c.id).scalar_subquery()


def _deflection() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Deflected (still resolved, last resolved by the requester through self-service, no agent's action in
    the trail but the filing), and deflected by a reply."""
    last = audit.alias("last_resolution")
    resolution = (
        select(last.c.reason)
        .where(last.c.ticket_id == ticket.c.id, last.c.action == "resolved")
        .order_by(last.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    agent = audit.alias("agent_event")
    # Filing the ticket for the requester (``POST /tickets`` with an agent's token) is not handling it.
    agent_acted = exists().where(
        agent.c.ticket_id == ticket.c.id, agent.c.actor.like("agent:%"), agent.c.action != "created"
    )
    deflected = and_(
        ticket.c.status.in_((Status.resolved, Status.closed)), resolution.like(f"{DEFLECTED_PREFIX}%"), ~agent_acted
    )
    return deflected, and_(deflected, resolution == DEFLECTED_BY_REPLY)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


async def _tickets(session: AsyncSession, f: Filters) -> dict[int, dict[str, int]]:
    has_suggestion = exists().where(suggestion.c.ticket_id == ticket.c.id)
    deflected, by_reply = _deflection()
    query = (
        select(
            ticket.c.customer_tier,
            func.count().label("tier0_tickets"),
            _count(has_suggestion).label("suggested"),
            _count(deflected).label("deflected"),
            _count(by_reply).label("deflected_by_reply"),
        )
        .where(*_cohort(f), _routed_to_self_service())
        .group_by(ticket.c.customer_tier)
    )
    return {int(r["customer_tier"]): {k: int(v or 0) for k, v in r.items()} for r in await fetch_rows(session, query)}


async def _escalations(session: AsyncSession, f: Filters) -> dict[int, dict[str, int]]:
    """Escalations out of tier 0 after the ticket's first suggestion, per customer tier and cause."""
    cause = func.coalesce(audit.c.data["cause"].as_string(), "agent")
    query = (
        select(ticket.c.customer_tier, cause.label("cause"), func.count().label("n"))
        .select_from(audit.join(ticket, ticket.c.id == audit.c.ticket_id))
        .where(
            *_cohort(f),
            audit.c.action == "escalated",
            audit.c.from_tier == SELF_SERVICE_TIER,
            audit.c.at >= _first_suggested(),
        )
        .group_by(ticket.c.customer_tier, cause)
    )
    found: dict[int, dict[str, int]] = {}
    for r in await fetch_rows(session, query):
        found.setdefault(int(r["customer_tier"]), {})[str(r["cause"])] = int(r["n"])
    return found


def _row(tier: int | None, counts: dict[str, int], causes: dict[str, int]) -> DeflectionRow:
    tier0, deflected = counts.get("tier0_tickets", 0), counts.get("deflected", 0)
    by_reply = counts.get("deflected_by_reply", 0)
    return DeflectionRow(
        customer_tier=tier,
        tier0_tickets=tier0,
        suggested=counts.get("suggested", 0),
        deflected=deflected,
        deflected_by_link=deflected - by_reply,
        deflected_by_reply=by_reply,
        deflection_rate=_ratio(deflected, tier0),
        escalations_after_suggestion=sum(causes.values()),
        escalations_by_cause=dict(sorted(causes.items())),
    )


def _summed(parts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for key, value in part.items():
            total[key] = total.get(key, 0) + value
    return total


async def _articles(session: AsyncSession, f: Filters, never_helps_after: int) -> list[ArticleRow]:
    answered = suggestion.outerjoin(link_use, link_use.c.suggestion_id == suggestion.c.id)
    query = (
        select(
            suggestion.c.article_id,
            func.max(suggestion.c.slug).label("slug"),
            func.max(suggestion.c.title).label("title"),
            suggestion.c.customer_tier,
            func.count().label("suggested"),
            _count(link_use.c.feedback == Feedback.solved).label("solved"),
            _count(link_use.c.feedback == Feedback.not_helpful).label("not_helpful"),
        )
        .select_from(answered.join(ticket, ticket.c.id == suggestion.c.ticket_id))
        .where(*_cohort(f))
        .group_by(suggestion.c.article_id, suggestion.c.customer_tier)
    )
    per_tier = await fetch_rows(session, query)
    by_article: dict[int, list[dict[str, Any]]] = {}
    for r in per_tier:
        by_article.setdefault(int(r["article_id"]), []).append(r)
    rows: list[ArticleRow] = []
    for article_id, found in by_article.items():
        found.sort(key=lambda r: int(r["customer_tier"]))
        total = {k: sum(int(r[k]) for r in found) for k in ("suggested", "solved", "not_helpful")}
        never = total["suggested"] >= never_helps_after and total["solved"] == 0
        named = {"article_id": article_id, "slug": found[0]["slug"], "title": found[0]["title"], "never_helps": never}
        for tier, counts in [(None, total), *((int(r["customer_tier"]), r) for r in found)]:
            solved, unhelpful = int(counts["solved"]), int(counts["not_helpful"])
            ratio = _ratio(solved, solved + unhelpful)
            figures = {"suggested": int(counts["suggested"]), "solved": solved, "not_helpful": unhelpful}
            rows.append(ArticleRow(**named, **figures, customer_tier=tier, helpful_ratio=ratio))
    totals = {r.article_id: r.suggested for r in rows if r.customer_tier is None}
    rows.sort(key=lambda a: (-totals[a.article_id], a.slug, -1 if a.customer_tier is None else a.customer_tier))
    return rows


async def self_service_figures(
    session: AsyncSession, f: Filters, *, never_helps_after: int = NEVER_HELPS_AFTER
) -> SelfServiceFigures:
    """Every self-service figure of the cohort ``f``."""
    counts = await _tickets(session, f)
    causes = await _escalations(session, f)
    rows = [_row(tier, counts.get(tier, {}), causes.get(tier, {})) for tier in CUSTOMER_TIERS]
    totals = _row(None, _summed(counts.values()), _summed(causes.values()))
    articles = await _articles(session, f, never_helps_after)
    never = [a for a in articles if a.customer_tier is None and a.never_helps]
    return SelfServiceFigures(
        by_customer_tier=rows, totals=totals, articles=articles, never_help=never, never_helps_after=never_helps_after
    )
