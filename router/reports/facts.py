"""The report's per-ticket facts (``report_ticket``): how they are computed, and how they stay current.

One statement computes a ticket's facts from the ticket row, its audit trail, its SLA clocks and its vendor
deliveries; the same statement serves one ticket (after a change), a batch (``tierroute report rebuild``)
and every ticket (migration 0009's backfill), so there is one definition of every figure.

They stay current without any caller's help once the composition root has called ``install`` (the
runtime does, ``queues.runtime.open_runtime``): it hooks the ORM session, notes every ticket whose
row, audit events, clocks or vendor deliveries were written in a flush, and rewrites those tickets' facts
just before the commit — in the same transaction, so a report never sees a change without its facts, and a
rolled-back change leaves none behind. The same transaction marks the days those facts touch as dirty, so
the report reads them from the facts until the roll-ups of those days are recomputed
(``router.reports.rollups``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Float,
    Integer,
    SmallInteger,
    and_,
    any_,
    bindparam,
    case,
    cast,
    delete,
    event,
    func,
    inspect,
    null,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Delete, Executable, Insert
from sqlalchemy.sql.elements import BindParameter

from router.models import metadata
from router.models.audit import AuditEvent
from router.models.sla import SlaClock
from router.models.tickets import OPEN_STATUSES, Ticket
from router.models.webhooks import WebhookDelivery
from rules.vocabulary import PRIORITIES, SUPPORT_TIERS

ticket = metadata.tables["ticket"]
audit = metadata.tables["audit_event"]
clock = metadata.tables["sla_clock"]
delivery = metadata.tables["webhook_delivery"]
facts = metadata.tables["report_ticket"]
dirty_days = metadata.tables["report_dirty_day"]

#: ``report_ticket.priority`` and the outcomes are indexes into these (``PRIORITIES`` from the vocabulary).
#: ``unanswered``: a response clock stopped without a response (resolved with nothing sent); appended last so
#: the codes stored before it kept their meaning.
OUTCOMES = ("met", "breached", "open", "unanswered")
#: Events that put a ticket into a tier (their ``to_tier``) and that end its stay there (``from_tier``).
STARTS = ("routed", "escalated", "deescalated", "reopened")
ENDS = ("escalated", "deescalated", "resolved")
#: Durations are bucketed by ``floor(ln(ms + 1) * BUCKETS_PER_E)``: 32 buckets per factor e (3 % wide),
#: about 800 for anything from a millisecond to a year. The percentiles use the buckets to find which few
#: values they need (``router.reports.percentiles``).
BUCKETS_PER_E = 32
DURATIONS = ("fr_business", "fr_wall", "res_business", "res_wall")

_DIRTY = "tierroute.report_dirty"
_GONE_DAYS = "tierroute.report_gone_days"


def ms_between(dialect: str, end: Any, start: Any) -> ColumnElement[int]:
    """``end - start`` in whole milliseconds."""
    if dialect == "postgresql":
        return cast(func.round(func.date_part("epoch", end - start) * 1000), BigInteger)
    return cast(func.round((func.julianday(end) - func.julianday(start)) * 86_400_000), Integer)


def bucket(dialect: str, ms: Any) -> ColumnElement[int]:
    """The histogram bucket of a duration in ms (negative durations, from clock skew, fall in bucket 0)."""
    at_least_zero = func.greatest(ms, 0) if dialect == "postgresql" else func.max(ms, 0)
    value = func.floor(func.ln(cast(at_least_zero + 1, Float)) * BUCKETS_PER_E)
    return case((ms.is_(None), null()), else_=cast(value, SmallInteger))


def cell(support_tier: Any, customer_tier: Any, priority: Any) -> ColumnElement[int]:
    """The three breakdown keys in one small integer, ``(support tier + 1) * 100 + customer tier * 10 +
    priority`` (0 for a missing tier): grouping by one column is much cheaper than by three."""
    return cast(
        (func.coalesce(support_tier + 1, 0) * 100) + (func.coalesce(customer_tier, 0) * 10) + priority, SmallInteger
    )


def _code(column: Any, values: Sequence[str]) -> ColumnElement[int]:
    return case(*((column == v, i) for i, v in enumerate(values)))


def _outcome(c: Any) -> ColumnElement[int | None]:
    return case(
        (c.c.id.is_(None), null()),
        (c.c.breaches > 0, OUTCOMES.index("breached")),
        (c.c.state == "breached", OUTCOMES.index("breached")),
        (c.c.state == "unanswered", OUTCOMES.index("unanswered")),
        (c.c.stopped_at.is_not(None), OUTCOMES.index("met")),
        else_=OUTCOMES.index("open"),
    )


#: The ticket ids of a refresh: the statements are built once per dialect (building them costs more Python
#: time than running them). On PostgreSQL one array parameter (``= ANY``), so the SQL text is the same for
#: any number of ids and the server prepares it once instead of planning it per refresh; SQLite expands an
#: ``IN`` list.
TICKET_IDS: BindParameter[int] = bindparam("ticket_ids", expanding=True)
TICKET_ID_ARRAY: BindParameter[Any] = bindparam("ticket_ids", type_=ARRAY(BigInteger))


def _among(column: Any, ticket_ids: BindParameter[Any]) -> ColumnElement[bool]:
    if ticket_ids.expanding:
        return column.in_(ticket_ids)
    return column == any_(ticket_ids)


def _facts_select(dialect: str, ticket_ids: BindParameter[Any] | None) -> Any:
    """One row of facts per ticket (all tickets when ``ticket_ids`` is None)."""
    t = ticket.alias("t")
    scope: list[ColumnElement[bool]] = [] if ticket_ids is None else [_among(t.c.id, ticket_ids)]
    # The same ids on the event and delivery side too, so one ticket's refresh reads its own rows by index
    # instead of every event of those actions.
    events_scope = [] if ticket_ids is None else [_among(audit.c.ticket_id, ticket_ids)]
    deliveries_scope = [] if ticket_ids is None else [_among(delivery.c.ticket_id, ticket_ids)]
    at = ms_between(dialect, audit.c.at, t.c.created_at)
    ends = {k: and_(audit.c.action.in_(ENDS), audit.c.from_tier == k) for k in SUPPORT_TIERS}
    starts = {k: and_(audit.c.action.in_(STARTS), audit.c.to_tier == k) for k in SUPPORT_TIERS}
    ev = (
        select(
            audit.c.ticket_id,
            *(
                (
                    func.coalesce(func.sum(case((ends[k], at), else_=0)), 0)
                    - func.coalesce(func.sum(case((starts[k], at), else_=0)), 0)
                ).label(f"tier{k}_ms")
                for k in SUPPORT_TIERS
            ),
            *(func.coalesce(func.sum(case((starts[k], 1), else_=0)), 0).label(f"tier{k}_stays") for k in SUPPORT_TIERS),
            func.min(case((audit.c.action == "vendor_handoff", audit.c.at))).label("vendor_handoff_at"),
            func.min(case((audit.c.action == "vendor_updated", audit.c.at))).label("vendor_updated_at"),
        )
        .join(t, t.c.id == audit.c.ticket_id)
        .where(audit.c.action.in_((*STARTS, *ENDS, "vendor_handoff", "vendor_updated")), *scope, *events_scope)
        .group_by(audit.c.ticket_id)
        .subquery("ev")
    )
    vendor = (
        select(delivery.c.ticket_id, func.min(delivery.c.delivered_at).label("delivered_at"))
        .join(t, t.c.id == delivery.c.ticket_id)
        .where(delivery.c.endpoint_kind == "vendor", *scope, *deliveries_scope)
        .group_by(delivery.c.ticket_id)
        .subquery("vendor")
    )
    routed_by = (
        select(audit.c.actor)
        .where(audit.c.ticket_id == t.c.id, audit.c.action == "routed")
        .order_by(audit.c.seq)
        .limit(1)
        .scalar_subquery()
    )
    fr, nr, rc = clock.alias("fr"), clock.alias("nr"), clock.alias("rc")
    joined = (
        t.outerjoin(ev, ev.c.ticket_id == t.c.id)
        .outerjoin(vendor, vendor.c.ticket_id == t.c.id)
        .outerjoin(fr, and_(fr.c.ticket_id == t.c.id, fr.c.kind == "first_response"))
        .outerjoin(nr, and_(nr.c.ticket_id == t.c.id, nr.c.kind == "next_response"))
        .outerjoin(rc, and_(rc.c.ticket_id == t.c.id, rc.c.kind == "resolution"))
    )
    resolved_now = and_(t.c.resolved_at.is_not(None), t.c.status.in_(("resolved", "closed")))
    # A first response is timed only when one was given: an unanswered clock has no response time.
    responded = and_(fr.c.stopped_at.is_not(None), fr.c.state != "unanswered")
    durations = {
        "fr_business": case((responded, cast(func.round(fr.c.total_seconds * 1000), BigInteger))),
        "fr_wall": case((responded, ms_between(dialect, fr.c.stopped_at, t.c.created_at))),
        "res_business": case(
            (and_(resolved_now, rc.c.stopped_at.is_not(None)), cast(func.round(rc.c.total_seconds * 1000), BigInteger))
        ),
        "res_wall": case((resolved_now, ms_between(dialect, t.c.resolved_at, t.c.created_at))),
    }
    priority = func.coalesce(_code(t.c.priority, PRIORITIES), PRIORITIES.index("normal"))
    columns: dict[str, Any] = {
        "ticket_id": t.c.id,
        "customer_id": t.c.customer_id,
        "created_at": t.c.created_at,
        "resolved_at": t.c.resolved_at,
        "is_open": t.c.status.in_([s.value for s in OPEN_STATUSES]),
        "resolved_now": resolved_now,
        "support_tier": t.c.support_tier,
        "customer_tier": t.c.customer_tier,
        "priority": priority,
        "cell": cell(t.c.support_tier, t.c.customer_tier, priority),
        "escalation_count": t.c.escalation_count,
        "reopen_count": t.c.reopen_count,
        "fr_outcome": _outcome(fr),
        "res_outcome": _outcome(rc),
        "breaches": func.coalesce(fr.c.breaches, 0) + func.coalesce(nr.c.breaches, 0) + func.coalesce(rc.c.breaches, 0),
        **{f"{name}_ms": value for name, value in durations.items()},
        **{f"{name}_b": bucket(dialect, value) for name, value in durations.items()},
        **{f"tier{k}_ms": func.coalesce(ev.c[f"tier{k}_ms"], 0) for k in SUPPORT_TIERS},
        **{f"tier{k}_stays": func.coalesce(ev.c[f"tier{k}_stays"], 0) for k in SUPPORT_TIERS},
        "routed_by": routed_by,
        "vendor_handoff_at": ev.c.vendor_handoff_at,
        "vendor_updated_at": ev.c.vendor_updated_at,
        "vendor_delivered_at": vendor.c.delivered_at,
    }
    return select(*(value.label(name) for name, value in columns.items())).select_from(joined).where(*scope)


def refresh_statements(dialect: str, ticket_ids: BindParameter[Any] | None = None) -> tuple[Delete, Insert]:
    """Delete and re-insert the facts of ``ticket_ids`` (of every ticket when None), in this order."""
    query = _facts_select(dialect, ticket_ids)
    remove = delete(facts) if ticket_ids is None else delete(facts).where(_among(facts.c.ticket_id, ticket_ids))
    insert = facts.insert().from_select(list(query.selected_columns.keys()), query)
    return remove, insert


# --- keeping the facts current ------------------------------------------------------------------------------


def _days(moments: Iterable[datetime | None]) -> set[date]:
    return {m.astimezone(UTC).date() for m in moments if m is not None}


@cache
def _refresh_by_id(dialect: str) -> tuple[Executable, Executable]:
    remove, insert = refresh_statements(dialect, TICKET_ID_ARRAY if dialect == "postgresql" else TICKET_IDS)
    moments = (facts.c.created_at, facts.c.resolved_at)
    return remove.returning(*moments), insert.returning(*moments)


def refresh(connection: Connection, ticket_ids: Sequence[int], also: Iterable[date] = ()) -> None:
    """Rewrite the facts of ``ticket_ids`` and mark the days they touch (before and after, and ``also``)
    dirty, so the report's roll-ups of those days are read from the facts until they are recomputed
    (``router.reports.rollups``)."""
    days: set[date] = set(also)
    for start in range(0, len(ticket_ids), 500):
        chunk = {"ticket_ids": list(ticket_ids[start : start + 500])}
        for statement in _refresh_by_id(connection.dialect.name):
            days |= _days(m for row in connection.execute(statement, chunk) for m in row)
    if days:
        connection.execute(dirty_days.insert(), [{"day": d} for d in sorted(days)])


def _vendor_delivery(obj: Any) -> bool:
    return isinstance(obj, WebhookDelivery) and obj.endpoint_kind == "vendor"


#: What the facts read (``_facts_select``): a flush that changes nothing of it leaves them as they are, so
#: the refresh is skipped (a claim, a reply, a note or tier automation costs no refresh).
FACT_ACTIONS = frozenset((*STARTS, *ENDS, "vendor_handoff", "vendor_updated"))
FACT_TICKET_COLUMNS = (
    "customer_id", "created_at", "resolved_at", "support_tier", "customer_tier", "priority", "escalation_count",
    "reopen_count",
)  # fmt: skip
_OPEN = frozenset(s.value for s in OPEN_STATUSES)


def _ticket_changed(ticket: Ticket) -> bool:
    state = inspect(ticket)
    if any(state.attrs[name].history.has_changes() for name in FACT_TICKET_COLUMNS):
        return True
    status = state.attrs["status"].history
    # Only whether the ticket is open (and resolved) counts: queued -> in_progress changes no fact.
    return any(value not in _OPEN for value in (*status.added, *status.deleted))


def _new_fact(obj: Any) -> bool:
    """A new row the facts read: an audit event of an action they count, a clock, a vendor delivery."""
    return (
        (isinstance(obj, AuditEvent) and obj.action in FACT_ACTIONS)
        or isinstance(obj, SlaClock)
        or _vendor_delivery(obj)
    )


def _touched(session: Session) -> set[int]:
    ids: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Ticket) and obj.id is not None:
            ids.add(obj.id)
        elif _new_fact(obj):
            ids.add(obj.ticket_id)
    for obj in session.dirty:
        if isinstance(obj, Ticket) and obj.id is not None and _ticket_changed(obj):
            ids.add(obj.id)
        elif isinstance(obj, SlaClock | AuditEvent) or _vendor_delivery(obj):
            ids.add(obj.ticket_id)
    for obj in session.deleted:
        if isinstance(obj, Ticket) and obj.id is not None:
            ids.add(obj.id)
        elif isinstance(obj, AuditEvent | SlaClock) or _vendor_delivery(obj):
            ids.add(obj.ticket_id)
    return ids


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """A deleted ticket's facts go with it (ON DELETE CASCADE): note their days while they are there."""
    gone = [obj.id for obj in session.deleted if isinstance(obj, Ticket) and obj.id is not None]
    if gone:
        moments = select(facts.c.created_at, facts.c.resolved_at).where(facts.c.ticket_id.in_(gone))
        days = _days(m for row in session.connection().execute(moments) for m in row)
        session.info.setdefault(_GONE_DAYS, set()).update(days)


def _after_flush(session: Session, _context: Any) -> None:
    ids = _touched(session)
    if ids:
        session.info.setdefault(_DIRTY, set()).update(ids)


def _before_commit(session: Session) -> None:
    if not session.info.get(_DIRTY) and not (session.new or session.dirty or session.deleted):
        return
    session.flush()
    ids = sorted(session.info.pop(_DIRTY, set()))
    refresh(session.connection(), ids, also=session.info.pop(_GONE_DAYS, set()))


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(_DIRTY, None)
    session.info.pop(_GONE_DAYS, None)


_HOOKS = (
    ("before_flush", _before_flush),
    ("after_flush", _after_flush),
    ("before_commit", _before_commit),
    ("after_rollback", _forget),
)


def install() -> None:
    """Hook every ORM session of the process: the facts of touched tickets are rewritten before each commit.

    The composition root calls it (``queues.runtime.open_runtime``); calling it again changes nothing."""
    for name, hook in _HOOKS:
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)


def installed() -> bool:
    return all(event.contains(Session, name, hook) for name, hook in _HOOKS)


def uninstall() -> None:
    """Take the hooks off again (tests use it to prove who installs them)."""
    for name, hook in _HOOKS:
        if event.contains(Session, name, hook):
            event.remove(Session, name, hook)
