"""The early warning before a slip: ``customer.at_risk``.

A customer of a tier the policy watches (``at_risk:`` in ``rules/tiers.yaml``) whose tickets opened in the last
``window_days`` reach a threshold (SLA breaches, escalations, reopens, or the ticket count itself) is at risk.
It is told once per window: a row in ``customer_at_risk`` is the ledger, and a customer is told again only
once a whole window has passed since. Telling is the outbox event (webhook subscriptions receive it signed),
a notification to every lead (mailed unless they opted out) and the administration log, all in the caller's
transaction. The worker's daily tier review job runs ``evaluate``; the counts come from the report facts
(``report_ticket``, one narrow row per ticket), so a day's check reads one index range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col
from sqlmodel import select as select_rows
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit import admin_log
from router.events import service as events
from router.models.agents import LEAD_ROLES, Agent
from router.models.customers import Customer, CustomerAtRisk
from router.models.notifications import NotificationKind
from router.models.reports import ReportTicket
from router.notifications import service as notifications
from rules.tiers import AT_RISK_SIGNALS, AtRisk

AT_RISK = "customer.at_risk"
FACTS = ReportTicket.__table__  # type: ignore[attr-defined]
CUSTOMER = Customer.__table__  # type: ignore[attr-defined]
LEDGER = CustomerAtRisk.__table__  # type: ignore[attr-defined]
#: Who tells (the log's actor).
ACTOR = "system:at-risk"


@dataclass(frozen=True)
class Alert:
    customer_id: int
    external_ref: str
    name: str
    tier: int
    counts: dict[str, int]
    crossed: tuple[str, ...]


async def counts(
    session: AsyncSession, since: datetime, until: datetime, customer_ids: Sequence[int] | None = None
) -> dict[int, dict[str, int]]:
    """Per customer, over the tickets opened in ``[since, until)``: how many, and their breaches,
    escalations and reopens (``AT_RISK_SIGNALS``)."""
    f = FACTS.c
    query = (
        select(
            f.customer_id,
            func.count(),
            func.coalesce(func.sum(f.breaches), 0),
            func.coalesce(func.sum(f.escalation_count), 0),
            func.coalesce(func.sum(f.reopen_count), 0),
        )
        .where(f.created_at >= since, f.created_at < until, f.customer_id.is_not(None))
        .group_by(f.customer_id)
    )
    if customer_ids is not None:
        query = query.where(f.customer_id.in_(list(customer_ids)))
    rows = (await (await session.connection()).execute(query)).all()
    return {
        row[0]: {"breaches": int(row[2]), "escalations": int(row[3]), "reopens": int(row[4]), "tickets": int(row[1])}
        for row in rows
    }


async def evaluate(session: AsyncSession, rule: AtRisk | None, now: datetime) -> list[Alert]:
    """Tell every watched customer at risk now and not told in the last window; returns who was told."""
    if rule is None:
        return []
    since = now - timedelta(days=rule.window_days)
    conn = await session.connection()
    watched = {
        row.id: row
        for row in await conn.execute(
            select(CUSTOMER.c.id, CUSTOMER.c.external_ref, CUSTOMER.c.name, CUSTOMER.c.value_tier).where(
                CUSTOMER.c.value_tier.in_(rule.watched)
            )
        )
    }
    found = await counts(session, since, now)
    candidates = {cid: c for cid, c in found.items() if cid in watched and rule.crossed(c)}
    if not candidates:
        return []
    told = set(
        (
            await conn.execute(
                select(LEDGER.c.customer_id).where(LEDGER.c.customer_id.in_(list(candidates)), LEDGER.c.at > since)
            )
        ).scalars()
    )
    alerts = [
        Alert(cid, watched[cid].external_ref, watched[cid].name, watched[cid].value_tier, c, rule.crossed(c))
        for cid, c in sorted(candidates.items())
        if cid not in told
    ]
    await _tell(session, alerts, rule, now)
    return alerts


async def _tell(session: AsyncSession, alerts: list[Alert], rule: AtRisk, now: datetime) -> None:
    if not alerts:
        return
    session.add_all(
        CustomerAtRisk(customer_id=a.customer_id, at=now, window_days=rule.window_days, tier=a.tier,
                       counts=a.counts, crossed=list(a.crossed))
        for a in alerts
    )  # fmt: skip
    payloads = [_payload(a, rule) for a in alerts]
    await events.emit_for_customers(
        session, [(a.customer_id, AT_RISK, p) for a, p in zip(alerts, payloads, strict=True)]
    )
    await admin_log.record_many(
        session,
        ACTOR,
        [(AT_RISK, admin_log.customer_subject(a.customer_id), p) for a, p in zip(alerts, payloads, strict=True)],
    )
    query = select_rows(Agent).where(col(Agent.role).in_(LEAD_ROLES)).order_by(col(Agent.id))
    leads = list((await session.exec(query)).all())
    for payload in payloads:
        text = f"Customer at risk: {payload['name']} (tier {payload['tier']}) reached {', '.join(payload['crossed'])}"
        await notifications.notify(
            session, leads, kind=NotificationKind.customer_at_risk, ticket=None, payload=payload | {"text": text}
        )


def _payload(alert: Alert, rule: AtRisk) -> dict[str, Any]:
    return {
        "customer_id": alert.customer_id,
        "external_ref": alert.external_ref,
        "name": alert.name,
        "tier": alert.tier,
        "window_days": rule.window_days,
        "counts": {s: alert.counts.get(s, 0) for s in AT_RISK_SIGNALS},
        "thresholds": dict(rule.thresholds),
        "crossed": list(alert.crossed),
    }


async def latest(session: AsyncSession, customer_id: int, now: datetime) -> CustomerAtRisk | None:
    """The customer's warning still in its window (for the banners), or None."""
    query = (
        select_rows(CustomerAtRisk)
        .where(CustomerAtRisk.customer_id == customer_id)
        .order_by(col(CustomerAtRisk.at).desc(), col(CustomerAtRisk.id).desc())
        .limit(1)
    )
    row = (await session.exec(query)).first()
    if row is None or row.at + timedelta(days=row.window_days) <= now:
        return None
    return row


async def at_risk_ids(session: AsyncSession, since: datetime, until: datetime) -> set[int]:
    """Customers warned in ``[since, until)`` (the quarterly review's flag)."""
    rows = await (await session.connection()).execute(
        select(LEDGER.c.customer_id).where(LEDGER.c.at >= since, LEDGER.c.at < until).distinct()
    )
    return set(rows.scalars())
