"""``tierroute kb stats``: the self-service figures (``docs/self-service.md``) on the terminal, or as JSON.

The command's function lives here; ``router/cli/kb.py`` registers it in the ``kb`` group.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from router.cli.common import console, run

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from router.self_service.schemas import SelfServiceFigures


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def stats(
    since: Annotated[
        datetime | None, typer.Option(help="Tickets created from (UTC); default 30 days before --until.")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="Tickets created before (UTC); default now.")] = None,
    customer: Annotated[int | None, typer.Option(help="Only this customer's tickets (id).")] = None,
    never_helps_after: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Suggested this often without solving a ticket: never helps.")
    ] = 5,
    json: Annotated[bool, typer.Option("--json", help="The figures as JSON (the SLA report's self_service).")] = False,
) -> None:
    """Deflection rate, escalations after a suggestion, helpful ratio per article and the articles that never
    help, by customer tier, for the tickets created in a window."""
    from router.cli.common import in_database
    from router.errors import DomainError
    from router.reports.service import make_filters
    from router.self_service.figures import self_service_figures
    from router.settings import get_settings

    end = _utc(until) or datetime.now(UTC)
    start = _utc(since) or end - timedelta(days=30)
    try:
        filters = make_filters(start, end, customer_id=customer)
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None

    async def work(session: AsyncSession) -> SelfServiceFigures:
        return await self_service_figures(session, filters, never_helps_after=never_helps_after)

    figures = run(in_database(get_settings(), work))
    if json:
        typer.echo(figures.model_dump_json(indent=2))
        return
    _print(figures, start, end)


def _print(figures: SelfServiceFigures, start: datetime, end: datetime) -> None:
    from rich.table import Table

    console.print(f"Self-service, tickets created {start.isoformat()} to {end.isoformat()}")
    columns = ("customer tier", "tier-0 tickets", "suggested", "deflected", "link / reply", "rate", "escalated after")
    tiers = Table(*columns)
    for r in [*figures.by_customer_tier, figures.totals]:
        causes = ", ".join(f"{cause} {n}" for cause, n in r.escalations_by_cause.items())
        tiers.add_row(
            "all" if r.customer_tier is None else str(r.customer_tier), str(r.tier0_tickets), str(r.suggested),
            str(r.deflected), f"{r.deflected_by_link} / {r.deflected_by_reply}", _percent(r.deflection_rate),
            f"{r.escalations_after_suggestion}" + (f" ({causes})" if causes else ""),
        )  # fmt: skip
    console.print(tiers)
    articles = Table("article", "customer tier", "suggested", "solved it", "did not help", "helpful ratio")
    for a in figures.articles:
        name = a.slug if a.customer_tier is None else ""
        tier = "all" if a.customer_tier is None else str(a.customer_tier)
        articles.add_row(
            name, tier, str(a.suggested), str(a.solved), str(a.not_helpful), _percent(a.helpful_ratio)
        )  # fmt: skip
    if figures.articles:
        console.print(articles)
    never = ", ".join(f"{a.slug} ({a.suggested} times)" for a in figures.never_help) or "none"
    console.print(f"Never help (suggested {figures.never_helps_after}+ times, never solved a ticket): {never}")
