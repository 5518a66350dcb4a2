"""arq job functions. Each takes ids, reloads state, acts through a router service in one transaction.

Each job's name, queue, timeout and tries are in ``queues.job_table``.

arq delivers at least once: every job checks the ticket's state first, so a second delivery is a no-op.
Database trouble raises ``Retry`` (arq retries only that); other errors fail the job, and the sweep or
reconcile enqueues it again later.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

import aiosmtplib
import httpx
import structlog
from arq import Retry
from sqlalchemy.exc import OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from queues.dispatch import enqueue
from queues.lease import LeaseBusy, leased
from queues.names import FORECAST_LOCK, TIER_REVIEW_LOCK
from queues.reconcile import enqueue_missing_jobs, repair_tier_queues, reschedule_overdue_timers
from queues.tier_queue import RedisTierQueue
from router.agents import availability
from router.assignment import assigner
from router.assignment import queries as assignment_queries
from router.audit import checkpoints
from router.automation import service as automation
from router.context import AppContext
from router.customers import at_risk
from router.customers import review as customer_reviews
from router.effects import assign_job
from router.errors import NotFound
from router.forecast import service as forecasts
from router.models.columns import utcnow
from router.models.reports import DigestMail
from router.models.tickets import MailStatus, Message
from router.models.webhooks import DeliveryStatus, WebhookDelivery
from router.notifications import mail as notification_mail
from router.notifications import queries as notification_queries
from router.notifications import service as notifications
from router.outbound import smtp_client
from router.outbound.compose import compose
from router.reports import digest, rollups
from router.routing import service as routing
from router.tickets import breaches, deliveries, offers
from router.tickets import service as tickets
from router.unit_of_work import transaction
from router.webhooks import http_client as webhook_client
from router.webhooks import outbound

log = structlog.get_logger(__name__)
T = TypeVar("T")


def app_of(ctx: dict[str, Any]) -> AppContext:
    app: AppContext = ctx["app"]
    return app


async def in_transaction(ctx: dict[str, Any], work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work(session)`` in one transaction; database trouble (already rolled back) becomes arq's ``Retry``."""
    app = app_of(ctx)
    try:
        async with transaction(app.sessionmaker, app.effects) as session:
            return await work(session)
    except OperationalError as exc:
        tries = int(ctx.get("job_try", 1))
        log.warning("job_database_error", error=str(exc.orig), job_try=tries)
        raise Retry(defer=min(2**tries, 30)) from exc


async def route_ticket(ctx: dict[str, Any], ticket_id: int) -> str:
    """Classify a new ticket and put it in its tier's queue."""
    app = app_of(ctx)
    rulebook = app.rulebook.current()

    async def work(session: AsyncSession) -> bool:
        return await routing.route(session, ticket_id, rulebook)

    try:
        routed = await in_transaction(ctx, work)
    except NotFound:
        return "missing"
    return "routed" if routed else "already-routed"


async def automate_tier(ctx: dict[str, Any], ticket_id: int, tier: int) -> str:
    """The tier's automatic first step (acknowledgement, self-service pointers)."""
    app = app_of(ctx)

    async def work(session: AsyncSession) -> bool:
        return await automation.run(session, ticket_id, tier, templates=app.templates, settings=app.settings)

    try:
        done = await in_transaction(ctx, work)
    except NotFound:
        return "missing"
    return "done" if done else "skipped"


async def automate_tier_batch(ctx: dict[str, Any], tier: int, up_to: int) -> str:
    """Tier automation for a batch that entered ``tier`` together (``router.effects.automation_batch_job``):
    every ticket of the tier still waiting, up to the batch's last id, a page of ``automation.BATCH_LIMIT``
    per transaction."""
    app = app_of(ctx)

    async def page(session: AsyncSession) -> tuple[int, int]:
        return await automation.run_batch(session, tier, templates=app.templates, settings=app.settings, up_to=up_to)

    done = 0
    while True:
        acknowledged, taken = await in_transaction(ctx, page)
        done += acknowledged
        if taken < automation.BATCH_LIMIT:
            return f"acknowledged={done}"


async def check_sla(ctx: dict[str, Any], ticket_id: int, kind: str, generation: int) -> str:
    """A clock's timer fired; warn or breach if that generation is still due (else a no-op)."""

    async def work(session: AsyncSession) -> str:
        return await breaches.sla_check(session, ticket_id, kind, generation)

    try:
        return await in_transaction(ctx, work)
    except NotFound:
        return "missing"


async def sweep(ctx: dict[str, Any]) -> str:
    """Cron: re-enqueue jobs for tickets that waited past the grace period, put back SLA timers that should
    have fired by then, take back offers nobody answered in time, and wake the pushing tiers' assigners."""
    app = app_of(ctx)
    grace = app.settings.sweep_grace_seconds
    routed, automated = await enqueue_missing_jobs(app, ctx["redis"], grace_seconds=grace)
    timers = await reschedule_overdue_timers(app, ctx["redis"], grace_seconds=grace)
    expired = await expire_overdue_offers(ctx)
    settings = app.assignment.current()
    seen = await app.live.last_seen()
    await in_transaction(ctx, lambda s: availability.mark_gone_away(s, seen, settings.away_after, time.time()))
    for tier in sorted(app.assignment.push_tiers()):
        await enqueue(ctx["redis"], assign_job(tier))
    return f"routing={routed} automation={automated} sla_timers={timers} offers_expired={expired}"


async def assign_tier(ctx: dict[str, Any], tier: int) -> str:
    """Offer a pushing tier's queued tickets to available agents (``router.assignment.assigner``)."""
    try:
        return f"offered={await assigner.run_tier(app_of(ctx), tier)}"
    except OperationalError as exc:
        tries = int(ctx.get("job_try", 1))
        log.warning("job_database_error", error=str(exc.orig), job_try=tries)
        raise Retry(defer=min(2**tries, 30)) from exc


async def expire_overdue_offers(ctx: dict[str, Any]) -> int:
    """Offers nobody answered by their time go back to their place in the queue (one transaction each)."""
    app = app_of(ctx)
    async with app.sessionmaker() as session:
        due = await assignment_queries.overdue_offers(session)
    expired = 0
    for offer_id in due:
        expired += bool(await in_transaction(ctx, lambda s, i=offer_id: offers.expire(s, i)))  # type: ignore[misc]
    return expired


async def repair_queues(ctx: dict[str, Any]) -> str:
    """Cron, once a minute: put tier-queue membership right; it reads every queued
    ticket, so it runs less often than the job sweep."""
    added, removed = await repair_tier_queues(app_of(ctx), RedisTierQueue(ctx["redis"]))
    return f"queue_added={added} queue_removed={removed}"


async def send_mail(ctx: dict[str, Any], message_id: int) -> str:
    """Compose and send one outbound message; retried with backoff, failures on the ticket."""
    app = app_of(ctx)
    settings = app.settings
    if not settings.smtp_url:
        return "not-configured"
    async with app.sessionmaker() as session:
        message = await session.get(Message, message_id)
        if message is None or message.delivery_status != MailStatus.pending:
            return "nothing-to-send"
        ticket = await tickets.get(session, message.ticket_id)
        try:
            mail = await compose(session, message, ticket, settings=settings, templates=app.templates, blobs=app.blobs)
        except (
            ValueError,
            TypeError,
            OSError,
        ) as exc:  # cannot be sent as it stands (or a file is gone): fail it visibly, never loop
            await _record_send_failure(ctx, message_id, f"cannot compose: {exc}", final=True)
            return "failed"

    async def failed(error: str, final: bool) -> None:
        await _record_send_failure(ctx, message_id, error, final=final)

    if not await _send_or_retry(ctx, mail, failed):
        return "failed"

    async def done(session: AsyncSession) -> bool:
        sent = await session.get(Message, message_id)
        return sent is not None and await deliveries.mark_sent(session, sent, message_id_header=str(mail["Message-ID"]))

    await in_transaction(ctx, done)
    return "sent"


async def tier_review(ctx: dict[str, Any]) -> str:
    """Cron, daily at 02:30 UTC: apply the tier policy once per review period of the configured cadence (the
    first run of a period does it; the others find its ledger row), then tell the customers at risk
    (``router.customers.at_risk``: once per window each). One worker at a time, under a lease."""
    app = app_of(ctx)
    cadence = app.settings.tier_review_cadence
    policy = app.tier_policy.current()
    now = utcnow()
    try:
        async with leased(ctx["redis"], TIER_REVIEW_LOCK, wait=0):
            done = "off"
            if cadence != "off":
                done = await in_transaction(
                    ctx, lambda s: customer_reviews.scheduled_review(s, policy, cadence, now.date())
                )
            warned = await in_transaction(ctx, lambda s: at_risk.evaluate(s, policy.at_risk, now))
            return f"{done} at_risk={len(warned)}" if warned else done
    except LeaseBusy:
        return "busy: another worker is reviewing"


async def forecast_breaches(ctx: dict[str, Any]) -> str:
    """Cron, every five minutes: settle what open breach predictions became, forecast every tier, record and
    announce (once) each new predicted breach. One worker at a time, under a lease."""
    settings = app_of(ctx).settings
    try:
        async with leased(ctx["redis"], FORECAST_LOCK, wait=0):
            done = await in_transaction(ctx, lambda s: forecasts.run(s, settings, utcnow()))
    except LeaseBusy:
        return "busy: another worker is forecasting"
    return f"settled={done.settled} predicted={done.predicted}"


async def weekly_digest(ctx: dict[str, Any]) -> str:
    """Cron, Mondays 07:00 UTC: a ledger row and a mail job per lead for the past
    week; a repeated run of the same week adds nothing."""
    planned = await in_transaction(ctx, lambda session: digest.plan_week(session, utcnow()))
    return f"pending={len(planned)}"


async def refresh_report_rollups(ctx: dict[str, Any]) -> str:
    """Cron, each minute: recompute the report roll-ups of the days whose facts
    changed, so reports read those days from a few rows again instead of from the facts."""

    async def work(session: AsyncSession) -> int:
        return await rollups.refresh(await session.connection())

    return f"days={await in_transaction(ctx, work)}"


async def audit_checkpoint(ctx: dict[str, Any]) -> str:
    """Cron, hourly: sign every ticket's audit chain head into a checkpoint file (docs/audit.md)."""
    settings = app_of(ctx).settings

    async def work(session: AsyncSession) -> str:
        taken, path = await checkpoints.take(session, settings)
        return f"tickets={len(taken.heads)} root={taken.root} file={path}"

    return await in_transaction(ctx, work)


async def send_digest(ctx: dict[str, Any], digest_id: int) -> str:
    """Compute the week's report and mail it to one lead, once."""
    app = app_of(ctx)
    settings = app.settings
    if not settings.smtp_url:
        return "not-configured"
    async with app.sessionmaker() as session:
        row = await session.get(DigestMail, digest_id)
        if row is None or row.status == "sent":
            return "nothing-to-send"
        report = await digest.week_report(session, row.week)
        mail = digest.compose(row, report, settings=settings, templates=app.templates)

    async def failed(error: str, final: bool) -> None:
        if final:
            log.warning("digest_send_failed", digest_id=digest_id, error=error)

    if not await _send_or_retry(ctx, mail, failed):
        return "failed"
    await in_transaction(ctx, lambda session: digest.mark_sent(session, digest_id))
    return "sent"


async def send_notification_mail(ctx: dict[str, Any], notification_id: int) -> str:
    """Mail one notification to its agent, once; retried with backoff like every outbound mail."""
    app = app_of(ctx)
    settings = app.settings
    if not settings.smtp_url:
        return "not-configured"
    async with app.sessionmaker() as session:
        found = await notification_queries.mail_of(session, notification_id)
        if found is None:
            return "nothing-to-send"
        mail = notification_mail.compose(*found, settings=settings, templates=app.templates)

    async def failed(error: str, final: bool) -> None:
        log.warning("notification_mail_failed", notification_id=notification_id, error=error, final=final)
        if final:
            await in_transaction(ctx, lambda s: notifications.mark_mailed(s, notification_id, sent=False))

    if not await _send_or_retry(ctx, mail, failed):
        return "failed"
    await in_transaction(ctx, lambda s: notifications.mark_mailed(s, notification_id, sent=True))
    return "sent"


async def _send_or_retry(
    ctx: dict[str, Any], mail: EmailMessage, on_failure: Callable[[str, bool], Awaitable[None]]
) -> bool:
    """Hand ``mail`` to the SMTP server. A failure is reported to ``on_failure(error, final)``, then retried
    with backoff (arq ``Retry``) until ``mail_send_attempts``; False when the last attempt failed."""
    settings = app_of(ctx).settings
    tries = int(ctx.get("job_try", 1))
    try:
        await smtp_client.send(settings, mail)
    except (OSError, aiosmtplib.SMTPException) as exc:
        final = tries >= settings.mail_send_attempts
        await on_failure(f"attempt {tries}: {exc.__class__.__name__}: {exc}", final)
        if final:
            return False
        raise Retry(defer=min(2**tries, 300)) from exc
    return True


async def _record_send_failure(ctx: dict[str, Any], message_id: int, error: str, *, final: bool) -> None:
    async def record(session: AsyncSession) -> None:
        failed = await session.get(Message, message_id)
        if failed is not None:
            await deliveries.note_send_failure(session, failed, error=error, final=final)

    await in_transaction(ctx, record)


async def publish_event(ctx: dict[str, Any], event_id: str) -> str:
    """Store one delivery per endpoint that wants the event and queue their jobs."""
    app = app_of(ctx)

    async def work(session: AsyncSession) -> int:
        return await outbound.fan_out(session, event_id, app.webhooks)

    try:
        count = await in_transaction(ctx, work)
    except NotFound:
        return "missing"
    return f"deliveries={count}"


async def deliver_webhook(ctx: dict[str, Any], delivery_id: int) -> str:
    """POST one signed delivery; on failure record it and retry with backoff."""
    app = app_of(ctx)

    async def load(session: AsyncSession) -> WebhookDelivery | None:
        # A vendor handoff whose ticket left tier 4 (or the vendor) since is recorded as skipped, not sent.
        return await outbound.due_delivery(session, delivery_id, app.webhooks)

    delivery = await in_transaction(ctx, load)
    if delivery is None:
        return "nothing-to-send"
    endpoint = app.webhooks.endpoint(delivery.endpoint_kind, delivery.endpoint)
    status_code: int | None
    error: str | None
    if endpoint is None:
        status_code, error, attempts = (
            None,
            f"{delivery.endpoint_kind} {delivery.endpoint!r} is no longer configured",
            1,
        )
    else:
        async with httpx.AsyncClient(follow_redirects=False) as client:
            status_code, error = await webhook_client.post(client, endpoint, delivery)
        attempts = endpoint.max_attempts

    async def record(session: AsyncSession) -> float | None:
        current = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if current is None or current.status != DeliveryStatus.pending:
            return None
        return await outbound.record_attempt(
            session,
            current,
            max_attempts=attempts,
            status_code=status_code,
            error=error,
            retry_base_seconds=app.settings.webhook_retry_base_seconds,
        )

    delay = await in_transaction(ctx, record)
    if delay is not None:
        raise Retry(defer=timedelta(seconds=delay))
    return "delivered" if error is None else "failed"
