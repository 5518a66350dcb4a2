"""``tierroute tiers check|score`` and ``tierroute customers set-tier``: the tier policy, a review by hand (a dry
run by default), and a person's change of a customer's tier. Wrong input is one located line and exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from router.cli.common import console, err, writable_or_exit

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from router.customers.review import Outcome, ReviewReport
    from router.customers.tiering import TierMove
    from router.settings import Settings
    from rules.review_periods import ReviewPeriod
    from rules.tiers import TierPolicy

app = typer.Typer(help="Customer tiers: the tier policy and tier reviews.", no_args_is_help=True)
#: Movers listed on the terminal; the CSV has every customer.
SHOWN = 50


def _exit_with(line: str) -> NoReturn:
    typer.echo(line.replace("\n", " "), err=True)
    raise typer.Exit(2)


def _policy_or_exit(path: Path) -> TierPolicy:
    from rules.tier_loader import TierPolicyError, load_tier_policy

    try:
        return load_tier_policy(path)
    except TierPolicyError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(exc.problems)} problem(s)", err=True)
        raise typer.Exit(2) from None


@app.command("check")
def tiers_check(file: Annotated[Path, typer.Argument(help="Tier policy YAML file.")]) -> None:
    """Check a tier policy; lists every problem as file:line:column and exits 2 if there is any."""
    policy = _policy_or_exit(file)
    console.print(
        f"{file}: {len(policy.criteria)} criteria, best tier {policy.scale.best}, version {policy.version}: ok"
    )


def _period_or_exit(settings: Settings, text: str | None) -> ReviewPeriod:
    from datetime import date

    from rules.review_periods import parse_period, period_of

    cadence = "quarterly" if settings.tier_review_cadence == "off" else settings.tier_review_cadence
    if text is None:
        return period_of(date.today(), cadence)
    try:
        return parse_period(text, cadence)
    except ValueError as exc:
        _exit_with(f"error: --period: {exc}")


@app.command("score")
def tiers_score(
    apply: Annotated[
        bool, typer.Option("--apply/--dry-run", help="Make the moves (default: a dry run that changes nothing).")
    ] = False,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write every customer's score to this file.")] = None,
    period: Annotated[
        str | None, typer.Option(help="The review period (2026Q4 for a quarterly cadence; default: now).")
    ] = None,
    policy_file: Annotated[
        Path | None, typer.Option("--policy", help="Tier policy to score with (default: the configured one).")
    ] = None,
) -> None:
    """Score every customer against the tier policy, propose tiers and show the movers; --apply moves them
    (tier history, audit record with the score's components and the policy version, events)."""
    from router.cli.common import install_tier_scale, settings_or_exit
    from rules.vocabulary import customer_scale

    settings = settings_or_exit()
    install_tier_scale(settings)
    policy = _policy_or_exit(policy_file or settings.tier_policy)
    if policy.scale != customer_scale():
        _exit_with(
            f"error: {policy.source}: best: {policy.scale.best} is not the installation's scale "
            f"(best: {customer_scale().best} in {settings.tier_policy})"
        )
    review_period = _period_or_exit(settings, period)
    if csv_out is not None:
        writable_or_exit(csv_out)  # before the review, which a typo in a directory name would waste
    report = _run_review(policy, review_period, apply=apply, csv_out=csv_out)
    _print_report(report)
    if csv_out is not None:
        console.print(f"every customer's score written to {csv_out}")


def _run_review(policy: TierPolicy, period: ReviewPeriod, *, apply: bool, csv_out: Path | None) -> ReviewReport:
    """The review in one transaction, a progress bar on stderr, every customer's row to ``csv_out``."""
    import csv
    import json
    from contextlib import ExitStack

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from router.cli.admin import _commit_or_exit
    from router.customers import review

    with ExitStack() as stack:
        bar = stack.enter_context(
            Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=err, transient=True,
            )
        )  # fmt: skip
        writer = csv.writer(stack.enter_context(csv_out.open("w", newline="", encoding="utf-8"))) if csv_out else None
        if writer is not None:
            columns = ["customer_id", "external_ref", "name", "current_tier", "score", "tier_by_score", "bump_steps"]
            columns += ["proposed_tier", "outcome", "streak", "needed"]
            for c in policy.criteria:
                columns += [c.id, f"{c.id}_points"]
            writer.writerow(columns)

        def each(o: Outcome) -> None:
            assert writer is not None
            s, d = o.score, o.decision
            row = [o.customer_id, o.external_ref, o.name, o.current, s.score, s.by_score, s.bump_steps, s.tier]
            row += [d.outcome, d.streak, d.needed]
            for c in s.components:
                row += [json.dumps(c.value) if c.value is not None else "", c.points]
            writer.writerow(row)

        async def work(session: AsyncSession) -> ReviewReport:
            # Without a CSV, only the movers' and the held back's scores are explained (``each`` hears everyone).
            listen = each if writer is not None else None
            return await review.review(session, policy, period, apply=apply, by=None, each=listen, progress=_Bar(bar))

        return _commit_or_exit(work)


class _Bar:
    """``review.ReviewProgress`` on a rich progress bar."""

    def __init__(self, bar: object) -> None:
        from rich.progress import Progress, TaskID

        assert isinstance(bar, Progress)
        self.bar = bar
        self.task: TaskID | None = None

    def phase(self, name: str, total: int | None = None) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(name, total=total)

    def advance(self, count: int) -> None:
        if self.task is not None:
            self.bar.advance(self.task, count)


def _print_report(report: ReviewReport) -> None:
    from rich.table import Table

    summary = Table("period", "policy", "customers", "scored", "moves", "held back", title="tier review")
    moves = str(len(report.moved)) + " made" if report.applied else f"{len(report.movers)} (dry run)"
    summary.add_row(
        report.period.label, report.policy_version, str(report.customers), str(report.scored), moves,
        str(len(report.held)),
    )  # fmt: skip
    console.print(summary)
    if report.movers:
        table = Table("customer", "name", "from", "to", "score", "by score", "bumps", "streak", title="movers")
        for o in sorted(report.movers, key=lambda o: (o.score.tier, o.external_ref))[:SHOWN]:
            table.add_row(
                o.external_ref, o.name, str(o.current), str(o.proposed), f"{o.score.score:g}", str(o.score.by_score),
                ", ".join(o.score.bumps) or "-", f"{o.decision.streak}/{o.decision.needed}",
            )  # fmt: skip
        console.print(table)
        if len(report.movers) > SHOWN:
            console.print(f"... and {len(report.movers) - SHOWN} more movers (--csv writes them all)")
    if report.held:
        console.print(f"{len(report.held)} move(s) held back until enough reviews in a row propose them")


def set_tier(
    ref: Annotated[str, typer.Argument(help="The customer's external reference.")],
    tier: Annotated[str, typer.Argument(metavar="N", help="The new value tier, 1 to 4.")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the tier history and the audit record).")] = None,
) -> None:
    """Move a customer to another value tier by hand: tier history, audit record and events, as a review's."""
    from router.cli.admin import _commit_or_exit
    from router.customers import service as customers
    from router.customers import tiering
    from router.errors import Invalid, NotFound
    from router.models.customers import TierSource
    from rules.vocabulary import MAX_CUSTOMER_TIER, MIN_CUSTOMER_TIER

    try:
        number = int(tier.strip())
    except ValueError:
        _exit_with(
            f"error: N: a customer tier is a number from {MIN_CUSTOMER_TIER} to {MAX_CUSTOMER_TIER}, got {tier!r}"
        )
    try:
        wanted, why = tiering.checked_tier(number), tiering.checked_reason(reason or "")
    except Invalid as exc:
        _exit_with(f"error: {'N' if exc.extra.get('field') == 'tier' else '--reason'}: {exc.detail}")

    async def work(session: AsyncSession) -> tuple[int, TierMove | None]:
        customer = await customers.find_by_ref(session, ref)
        if customer is None:
            raise NotFound(f"REF: no customer has the reference {ref!r}")
        before = customer.value_tier
        move = await tiering.retier(session, customer, wanted, reason=why, by=None, source=TierSource.manual)
        return before, move

    before, move = _commit_or_exit(work)
    if move is None:
        console.print(f"customer {ref} is at tier {before} already: nothing changed")
        return
    direction = "slipped" if move.slipped else "rose"
    console.print(
        f"customer {ref}: tier {move.from_tier} -> {move.to_tier} ({direction}); highest {move.highest_after}"
    )


def install(customers_app: typer.Typer) -> None:
    """``customers set-tier`` joins the customers commands."""
    customers_app.command("set-tier")(set_tier)
