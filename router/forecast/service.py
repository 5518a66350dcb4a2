"""A tier's forecast from the database, and the recorded predictions: made, announced once, settled, scored.

Flushes, never commits (the edge owns the transaction). A prediction is not a change of the ticket, so it
writes no audit event: its row in ``breach_prediction`` is its record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.events import service as events
from router.forecast import queries
from router.forecast.capacity import tier_capacity
from router.forecast.engine import Accuracy, Forecast, accuracy, claims_per_agent_hour, forecast
from router.forecast.schemas import ForecastOut, PredictionOut
from router.models.agents import Agent
from router.models.forecast import BreachPrediction
from router.models.notifications import NotificationKind
from router.models.tickets import Status, Ticket
from router.notifications import service as notifications
from router.settings import Settings
from router.tierqueues.service import check_tier
from rules.vocabulary import SUPPORT_TIERS

#: Tickets read and recorded per statement when a run announces many at once.
CHUNK = 500
#: "Predicted breaches in the next 2 h" on My queues.
SOON = timedelta(hours=2)


@dataclass(frozen=True)
class TierForecast:
    tier: int
    made_at: datetime
    #: Ticket ids and due times in claim order, beside the forecast's lists.
    queue: queries.WaitingQueue
    forecast: Forecast


def moment(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


async def tier_forecast(session: AsyncSession, settings: Settings, tier: int, now: datetime) -> TierForecast:
    """Forecast one tier from its queue, its capacity and the handling rate of the recent window."""
    check_tier(tier)
    queue = await queries.waiting(session, tier)
    since = now - timedelta(days=settings.forecast_window_days)
    claims, agent_hours = await queries.recent_handling(session, tier, since)
    rate = claims_per_agent_hour(claims, agent_hours, default=settings.forecast_default_rate)
    capacity = await tier_capacity(session, tier, now)
    made = forecast(queue.due, now=now.timestamp(), capacity=capacity, rate=rate)
    return TierForecast(tier, now, queue, made)


async def breaches_soon(session: AsyncSession, tiers: list[int], now: datetime) -> dict[int, int]:
    """Per tier, the recorded predicted breaches due in the next two hours whose ticket still waits there
    (My queues). Read from the predictions the cron records every few minutes, not forecast per page view:
    a page that re-renders on every queue change must not read a 100,000-ticket tier each time."""
    if not tiers:
        return {}
    p, t = BreachPrediction, Ticket
    query = (
        select(p.tier, func.count())
        .join(t, col(t.id) == p.ticket_id)
        .where(
            col(p.came_true).is_(None),
            col(p.due_at) > now,
            col(p.due_at) <= now + SOON,
            col(p.tier).in_(tiers),
            t.status == Status.queued,
            col(t.support_tier) == p.tier,
        )
        .group_by(col(p.tier))
    )
    found = dict((await session.exec(query)).all())
    return {tier: found.get(tier, 0) for tier in tiers}


@dataclass(frozen=True)
class RunSummary:
    settled: int
    predicted: int


async def run(session: AsyncSession, settings: Settings, now: datetime) -> RunSummary:
    """The cron's work: settle what the open predictions became, then forecast every tier and record (and
    announce, once) each new predicted breach due within ``forecast_announce_hours``."""
    settled = await settle(session, now)
    predicted = 0
    for tier in SUPPORT_TIERS:
        predicted += await _predict_tier(session, settings, tier, now)
    return RunSummary(settled, predicted)


async def _predict_tier(session: AsyncSession, settings: Settings, tier: int, now: datetime) -> int:
    made = await tier_forecast(session, settings, tier, now)
    horizon = (now + timedelta(hours=settings.forecast_announce_hours)).timestamp()
    flagged = {made.queue.ids[p.position]: p for p in made.forecast.breaches if p.due is not None and p.due <= horizon}
    announced = 0
    leads = await notifications.leads_of_tier(session, tier) if flagged else []
    ids = list(flagged)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        # The exact due times come from the rows (the forecast's are epoch floats): a prediction is unique on it.
        tickets = (await session.exec(select(Ticket).where(col(Ticket.id).in_(chunk)))).all()
        known = await session.exec(
            select(BreachPrediction.ticket_id, BreachPrediction.due_at).where(
                col(BreachPrediction.ticket_id).in_(chunk), BreachPrediction.tier == tier
            )
        )
        seen = set(known.all())
        fresh = [
            (t, BreachPrediction(ticket_id=t.id, tier=tier, predicted_start=moment(flagged[t.id].start),
                                 due_at=t.sla_next_due_at, made_at=now))
            for t in tickets
            if t.id is not None and (t.id, t.sla_next_due_at) not in seen
        ]  # fmt: skip
        session.add_all([prediction for _, prediction in fresh])
        await session.flush()
        for ticket, prediction in fresh:
            await _announce(session, ticket, prediction, made, leads)
        announced += len(fresh)
    return announced


async def _announce(
    session: AsyncSession, ticket: Ticket, prediction: BreachPrediction, made: TierForecast, leads: list[Agent]
) -> None:
    """The ``sla.breach_predicted`` event (webhooks) and the tier's leads' notice (and mail)."""
    start = prediction.predicted_start.isoformat() if prediction.predicted_start else None
    data = {
        "prediction_id": prediction.id,
        "support_tier": prediction.tier,
        "due_at": prediction.due_at.isoformat(),
        "predicted_start": start,
        "capacity": made.forecast.capacity,
        "rate_per_agent_hour": round(made.forecast.rate, 3),
    }
    events.emit(session, ticket, "sla.breach_predicted", data)
    text = f"Breach predicted in tier {prediction.tier}: {ticket.ref} is due {prediction.due_at:%H:%M} UTC" + (
        f" but is predicted to be picked up at {prediction.predicted_start:%H:%M} UTC"
        if prediction.predicted_start
        else " and nobody works the tier"
    )
    payload = {"ref": ticket.ref, "subject": ticket.subject, "support_tier": prediction.tier, "text": text} | data
    await notifications.notify(session, leads, kind=NotificationKind.breach_predicted, ticket=ticket, payload=payload)


async def settle(session: AsyncSession, now: datetime) -> int:
    """Say whether each open prediction came true: true when the ticket left the queue after its due time or
    still waits past it; false when it left before. Open predictions of tickets still waiting stay open."""
    open_ = list((await session.exec(select(BreachPrediction).where(col(BreachPrediction.came_true).is_(None)))).all())
    if not open_:
        return 0
    left: list[datetime | None] = []
    for start in range(0, len(open_), CHUNK):
        chunk = open_[start : start + CHUNK]
        left += await queries.left_queue(session, [(p.ticket_id, p.tier, p.made_at) for p in chunk])
    done = 0
    for prediction, gone in zip(open_, left, strict=True):
        if gone is not None:
            prediction.came_true = gone > prediction.due_at
        elif now >= prediction.due_at:
            prediction.came_true = True
        else:
            continue
        prediction.settled_at = now
        done += 1
    await session.flush()
    return done


async def scores(session: AsyncSession, since: datetime, until: datetime) -> Accuracy:
    """Precision and recall of the predictions made in the period (``/reports``)."""
    made = await session.exec(
        select(BreachPrediction.ticket_id, BreachPrediction.came_true).where(
            col(BreachPrediction.made_at) >= since, col(BreachPrediction.made_at) < until
        )
    )
    return accuracy(made.all(), await queries.breached_while_waiting(session, since, until))


def forecast_out(made: TierForecast, *, offset: int, limit: int, breaches_only: bool) -> ForecastOut:
    """One page of a tier's forecast for the API."""
    f = made.forecast
    chosen = f.breaches[offset : offset + limit] if breaches_only else f.predictions(offset, limit)
    items = [
        PredictionOut(
            ticket_id=made.queue.ids[p.position],
            position=p.position + 1,
            predicted_start=moment(p.start),
            due_at=moment(p.due),
            breach=p.breach,
        )
        for p in chosen
    ]
    return ForecastOut(
        tier=made.tier,
        made_at=made.made_at,
        capacity=f.capacity,
        rate_per_agent_hour=round(f.rate, 3),
        waiting=len(f.flags),
        overdue=f.overdue,
        predicted_breaches=sum(f.flags),
        predicted_breaches_next_2h=f.breaches_within(SOON.total_seconds()),
        offset=offset,
        limit=limit,
        items=items,
    )
