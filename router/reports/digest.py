"""The weekly SLA digest for leads: which mails a week owes (a ledger row each) and what each one says.

The cron job asks ``plan_week`` for the week's rows; the ledger's unique (week, agent) makes a second run
of the same week add nothing, and a sent row is never sent again, so leads get one digest a week.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from jinja2 import Environment
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router import job_names
from router.effects import MAIL, EnqueueJob, after_commit
from router.models.columns import utcnow
from router.models.reports import DigestMail
from router.outbound.compose import mail_domain
from router.reports import queries, render, service
from router.reports.schemas import SlaReport
from router.settings import Settings


def digest_job(digest_id: int) -> EnqueueJob:
    return EnqueueJob(job_names.SEND_DIGEST, (digest_id,), f"digest:{digest_id}", MAIL)


def previous_week(now: datetime) -> tuple[datetime, datetime]:
    """The last full ISO week (Monday 00:00 UTC to Monday 00:00) before ``now``."""
    monday = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=now.astimezone(UTC).weekday())
    return monday - timedelta(days=7), monday


async def plan_week(session: AsyncSession, now: datetime) -> list[int]:
    """Ledger rows for every lead and admin with an email for the previous week; pending ones get a mail job
    after commit. Rows already there (a repeated run) are left as they are."""
    week = previous_week(now)[0].date().isoformat()
    existing = set((await session.exec(select(DigestMail.agent_id).where(DigestMail.week == week))).all())
    for agent_id, _name, email in await queries.lead_recipients(session):
        if agent_id not in existing:
            session.add(DigestMail(week=week, agent_id=agent_id, email=email))
    await session.flush()
    pending = (
        await session.exec(
            select(DigestMail.id)
            .where(DigestMail.week == week, DigestMail.status == "pending")
            .order_by(col(DigestMail.id))
        )
    ).all()
    ids = [i for i in pending if i is not None]
    for digest_id in ids:
        after_commit(session, digest_job(digest_id))
    return ids


async def week_report(session: AsyncSession, week: str) -> SlaReport:
    since = datetime.fromisoformat(week).replace(tzinfo=UTC)
    return await service.sla_report(session, service.make_filters(since, since + timedelta(days=7)))


def compose(row: DigestMail, report: SlaReport, *, settings: Settings, templates: Environment) -> EmailMessage:
    """Plain text and HTML (no charts: mail clients block SVG) with a deterministic Message-ID."""
    mail = EmailMessage()
    name, address = parseaddr(settings.mail_from)
    mail["From"] = Address(display_name=name, addr_spec=address) if name else address
    mail["To"] = row.email
    mail["Subject"] = f"Weekly SLA digest, week of {row.week}"
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = f"<digest.{row.week}.{row.agent_id}@{mail_domain(settings)}>"
    mail["Auto-Submitted"] = "auto-generated"
    context = {"report": report, "week": row.week, "percent": render.percent, "duration": render.duration}
    mail.set_content(templates.get_template("reports/digest.txt").render(**context))
    mail.add_alternative(templates.get_template("reports/digest.html").render(**context), subtype="html")
    return mail


async def mark_sent(session: AsyncSession, digest_id: int) -> None:
    row = await session.get(DigestMail, digest_id)
    if row is not None and row.status != "sent":
        row.status = "sent"
        row.sent_at = utcnow()
