"""``tierroute report sla``: the SLA report as an HTML, CSV or JSON file, with a progress bar per section."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from router.cli.common import err, writable_or_exit, write_or_exit

if TYPE_CHECKING:
    from router.reports.schemas import SlaReport

app = typer.Typer(help="Reports for support leads.", no_args_is_help=True)


class Format(StrEnum):
    html = "html"
    csv = "csv"
    json = "json"


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


@app.command("sla")
def sla(
    since: Annotated[
        datetime | None, typer.Option(help="Start of the window (UTC); default 30 days before --until.")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="End of the window, exclusive (UTC); default now.")] = None,
    format: Annotated[Format, typer.Option("--format", help="html, csv or json.")] = Format.html,
    out: Annotated[Path | None, typer.Option("--out", help="The file to write (default sla-report.<format>).")] = None,
    customer: Annotated[int | None, typer.Option(help="Only this customer's tickets (id).")] = None,
    agent: Annotated[int | None, typer.Option(help="Only tickets this agent acted on (id).")] = None,
    granularity: Annotated[str, typer.Option(help="Trend buckets: day or week.")] = "day",
) -> None:
    """Compliance, breaches, time in tier, escalation paths, backlog, vendors and trends over a window."""
    import asyncio

    from rich.progress import Progress

    from router.db import make_engine, make_sessionmaker, migrate
    from router.errors import DomainError
    from router.rendering import make_templates
    from router.reports import render, service
    from router.reports.csv import to_csv
    from router.settings import get_settings

    path = out or Path(f"sla-report.{format.value}")
    writable_or_exit(path)  # before the work, which a typo in a directory name would waste
    settings = get_settings()
    end = _utc(until) or datetime.now(UTC)
    start = _utc(since) or end - timedelta(days=30)
    try:
        filters = service.make_filters(start, end, customer_id=customer, agent_id=agent, granularity=granularity)
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None

    async def main() -> SlaReport:
        url = settings.effective_database_url
        await asyncio.to_thread(migrate, url)
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                with Progress(console=err, transient=True) as progress:
                    task = progress.add_task("computing the report", total=len(service.SECTIONS))

                    def step(name: str) -> None:
                        progress.update(task, advance=1, description=name)

                    return await service.sla_report(session, filters, step)
        finally:
            await engine.dispose()

    report = asyncio.run(main())
    if format is Format.html:
        text = render.to_html(make_templates(), report)
    elif format is Format.csv:
        text = to_csv(report)
    else:
        text = report.model_dump_json(indent=2)
    write_or_exit(path, text)
    t = report.totals
    err.print(
        f"wrote {path}: {t.tickets_in} tickets in, {t.tickets_out} out, "
        f"first response met {render.percent(t.first_response_compliance)}, "
        f"resolution met {render.percent(t.resolution_compliance)}"
    )


@app.command("rebuild")
def rebuild(
    batch: Annotated[int, typer.Option(min=1, help="Tickets per transaction.")] = 5000,
) -> None:
    """Recompute every ticket's report facts from its audit trail, clocks and deliveries, then the report's
    per-day and per-week roll-ups from the facts.

    Both are kept current on their own (the facts in each change's transaction, the roll-ups by the worker's
    cron job each minute); this is for after a restore, a manual repair in SQL, or a change to how a figure
    is defined. Each batch is its own transaction, so it can run while the helpdesk works."""
    import asyncio

    from rich.progress import Progress
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from router.db import make_engine, make_sessionmaker, migrate
    from router.reports import facts, rollups
    from router.settings import get_settings

    settings = get_settings()

    def _refresh_facts(sync_session: Session, chunk: list[int]) -> None:
        facts.refresh(sync_session.connection(), chunk)

    async def main() -> int:
        url = settings.effective_database_url
        await asyncio.to_thread(migrate, url)
        engine = make_engine(url)
        done = 0
        try:
            async with make_sessionmaker(engine)() as session:
                connection = await session.connection()
                ids = list((await connection.execute(select(facts.ticket.c.id).order_by(facts.ticket.c.id))).scalars())
                await session.commit()
                with Progress(console=err, transient=True) as progress:
                    task = progress.add_task("rebuilding report facts", total=len(ids))
                    for start in range(0, len(ids), batch):
                        chunk = ids[start : start + batch]
                        await session.run_sync(_refresh_facts, chunk)
                        await session.commit()
                        done += len(chunk)
                        progress.update(task, advance=len(chunk))
                    progress.add_task("rolling up the facts per day and week", total=None)
                    await rollups.refresh(await session.connection(), everything=True)
                    await session.commit()
        finally:
            await engine.dispose()
        return done

    err.print(f"rebuilt the report facts of {asyncio.run(main())} tickets and their roll-ups")


@app.command("tiers")
def tiers(
    quarter: Annotated[str, typer.Option(help="The quarter to review, such as 2026Q4.")],
    format: Annotated[Format, typer.Option("--format", help="html, csv or json.")] = Format.html,
    out: Annotated[
        Path | None, typer.Option("--out", help="The file to write (default tier-review-<quarter>.<format>).")
    ] = None,
) -> None:
    """The quarterly tier review: per customer tiers (now, onboarding, highest, at the start and end of the
    quarter), support load, cost to serve, SLA compliance and flags; the transition matrix, slips and rises,
    four quarters' distribution and the bottom-heavy diagnosis (docs/customer-tiers.md)."""
    import asyncio

    from rich.progress import Progress

    from router.cli.common import install_tier_scale, settings_or_exit
    from router.customers.policy import TierPolicyProvider
    from router.customers.quarter_review import tier_review_report
    from router.customers.review_render import to_csv, to_html
    from router.customers.review_schemas import TierReviewReport
    from router.db import make_engine, make_sessionmaker, migrate
    from router.rendering import make_templates
    from rules.review_periods import parse_period
    from rules.vocabulary import customer_scale

    try:
        period = parse_period(quarter, "quarterly")
    except ValueError as exc:
        typer.echo(f"error: --quarter: {exc}", err=True)
        raise typer.Exit(2) from None
    path = out or Path(f"tier-review-{period.label}.{format.value}")
    writable_or_exit(path)
    settings = settings_or_exit()
    install_tier_scale(settings)
    rates = TierPolicyProvider(settings.tier_policy, install_scale=False).current().costs

    async def main() -> TierReviewReport:
        url = settings.effective_database_url
        await asyncio.to_thread(migrate, url)
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                with Progress(console=err, transient=True) as progress:
                    progress.add_task(f"reviewing {period.label}", total=None)
                    return await tier_review_report(session, period, customer_scale(), rates)
        finally:
            await engine.dispose()

    report = asyncio.run(main())
    if format is Format.html:
        text = to_html(make_templates(), report)
    elif format is Format.csv:
        text = to_csv(report)
    else:
        text = report.model_dump_json(indent=2)
    write_or_exit(path, text)
    b = report.bottom_heavy
    err.print(
        f"wrote {path}: {len(report.customers)} customers, {report.slipped} slipped, {report.risen} rose"
        + (f"; bottom-heavy by {', '.join(b.bottom_heavy_by)}" if b.bottom_heavy_by else "")
    )
