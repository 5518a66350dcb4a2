"""``tierroute rules check|explain|test|simulate``: rulebook authors' tools (located errors, explanations,
cases, dry runs against stored tickets)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from router.cli.common import console, err, run, writable_or_exit

if TYPE_CHECKING:
    from router.routing.simulate import SimulationReport
    from router.settings import Settings
    from rules import Decision, Rulebook, RulebookError, Snapshot

app = typer.Typer(help="Work with rulebooks.", no_args_is_help=True)


def _echo_problems(exc: RulebookError) -> None:
    """Every located problem (``file:line:column: ...``) on stderr."""
    for problem in exc.problems:
        typer.echo(str(problem), err=True)


@app.command("check")
def rules_check(file: Annotated[Path, typer.Argument(help="Rulebook YAML file.")]) -> None:
    """Check a rulebook; lists every problem as file:line:column and exits 1 if there is any."""
    from rules import RulebookError, load_rulebook

    try:
        rulebook = load_rulebook(file)
    except RulebookError as exc:
        _echo_problems(exc)
        typer.echo(f"{len(exc.problems)} problem(s)", err=True)
        raise typer.Exit(1) from None
    console.print(f"{file}: {len(rulebook.rules)} rules, version {rulebook.version}: ok")


def _load_rulebook_or_exit(path: Path) -> Rulebook:
    from router.cli.common import install_tier_scale
    from router.settings import get_settings
    from rules import RulebookError, load_rulebook

    install_tier_scale(get_settings())  # customer tiers named in the rulebook stand for places on the scale
    try:
        return load_rulebook(path)
    except RulebookError as exc:
        _echo_problems(exc)
        raise typer.Exit(2) from None


def _print_decision(decision: Decision, as_json: bool) -> None:
    from rich.table import Table

    if as_json:
        typer.echo(json.dumps(decision.to_dict(), indent=2, default=str))
        return
    console.print(
        f"support tier [bold]{decision.support_tier}[/bold]  priority [bold]{decision.priority}[/bold]  "
        f"severity {decision.severity}  SLA policy {decision.sla_policy or '-'}  "
        f"queue group {decision.queue_group or '-'}"
    )
    console.print(f"tags: {', '.join(decision.tags) or '-'}   rulebook version {decision.rulebook_version}")
    table = Table("rule", "saw", "did", title="rules that matched, in order")
    for m in decision.matched:
        table.add_row(m.rule_id, json.dumps(m.saw, default=str), json.dumps(m.actions))
    console.print(table)
    for line in decision.adjustments:
        console.print(f"then {line}")
    for note in decision.notes:
        console.print(f"note for agents: {note}")


@app.command("explain")
def rules_explain(
    ticket: Annotated[int | None, typer.Option(help="A stored ticket's id.")] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="A snapshot as JSON (fields of rules.Snapshot).")
    ] = None,
    eml: Annotated[Path | None, typer.Option(help="A raw email file.")] = None,
    customer_tier: Annotated[int, typer.Option(help="Customer tier for --eml.")] = 3,
    rulebook: Annotated[Path | None, typer.Option(help="Rulebook to use (default: the configured one).")] = None,
    as_json: Annotated[bool, typer.Option("--as-json", help="Print the decision as JSON.")] = False,
) -> None:
    """Show how the rulebook decides a ticket: rules matched, the values they saw, the result."""
    from router.settings import get_settings
    from rules import AttachmentInfo, Snapshot
    from rules.located import UnreadableSource, read_source

    settings = get_settings()
    book = _load_rulebook_or_exit(rulebook or settings.rulebook)
    if sum(x is not None for x in (ticket, json_file, eml)) != 1:
        typer.echo("error: give exactly one of --ticket, --json, --eml", err=True)
        raise typer.Exit(2)
    if json_file is not None:
        try:
            snapshot = Snapshot.from_mapping(json.loads(read_source(json_file, "JSON file")))
        except UnreadableSource as exc:
            typer.echo(f"error: {exc.problem}", err=True)
            raise typer.Exit(2) from None
        except (ValueError, TypeError) as exc:
            typer.echo(f"error: {json_file}: {exc}", err=True)
            raise typer.Exit(2) from None
    elif eml is not None:
        from router.intake.mime import UnreadableEmail, parse_email

        try:
            mail = parse_email(eml.read_bytes())
        except OSError as exc:
            typer.echo(f"error: {eml}: {exc.strerror}", err=True)
            raise typer.Exit(2) from None
        except UnreadableEmail as exc:
            typer.echo(f"error: {eml}: {exc}", err=True)
            raise typer.Exit(2) from None
        snapshot = Snapshot(
            subject=mail.subject,
            body=mail.text,
            sender=mail.sender,
            customer_tier=customer_tier,
            channel="email",
            source="email",
            recipient=mail.recipients[0] if mail.recipients else None,
            attachments=tuple(AttachmentInfo(a.filename, a.content_type) for a in mail.attachments),
            received_at=mail.date,
        )
    else:
        assert ticket is not None
        snapshot = run(_stored_snapshot(settings, ticket))
    _print_decision(book.evaluate(snapshot), as_json)


async def _stored_snapshot(settings: Settings, ticket_id: int) -> Snapshot:
    from router.db import make_engine, make_sessionmaker
    from router.errors import NotFound
    from router.routing.snapshots import snapshot_of
    from router.tickets import service as tickets

    engine = make_engine(settings.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await snapshot_of(session, await tickets.get(session, ticket_id))
    except NotFound as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    finally:
        await engine.dispose()


@app.command("test")
def rules_test(
    cases: Annotated[Path, typer.Argument(help="Cases YAML: [{name, input, expect}].")],
    rulebook: Annotated[Path | None, typer.Option(help="Rulebook to test (default: the configured one).")] = None,
) -> None:
    """Run rulebook authors' cases; failures are shown as expected/actual and the exit code is 1."""
    from router.settings import get_settings
    from rules import RulebookError
    from rules.cases import load_cases, run_cases

    book = _load_rulebook_or_exit(rulebook or get_settings().rulebook)
    try:
        loaded = load_cases(cases)
    except RulebookError as exc:
        _echo_problems(exc)
        raise typer.Exit(2) from None
    results = run_cases(book, loaded)
    failed = [r for r in results if not r.passed]
    for r in results:
        mark = "[green]PASS[/green]" if r.passed else "[red]FAIL[/red]"
        console.print(f"{mark} {cases}:{r.case.line} {r.case.name}")
        for key, (expected, actual) in r.diff.items():
            console.print(f"     {key}: [red]- expected {expected!r}[/red]  [green]+ got {actual!r}[/green]")
        if r.diff:
            console.print(f"     rules matched: {', '.join(m.rule_id for m in r.decision.matched) or '-'}")
    console.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@app.command("simulate")
def rules_simulate(
    candidate: Annotated[Path, typer.Argument(help="The candidate rulebook.")],
    since: Annotated[datetime | None, typer.Option(help="Only tickets created since this date.")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Where to write the differences.")] = None,
) -> None:
    """Dry run: replay stored tickets through CANDIDATE and report what would change tier or priority."""
    import csv

    from rich.progress import Progress
    from rich.table import Table

    from router.db import make_engine, make_sessionmaker
    from router.routing.simulate import count_tickets, simulate
    from router.settings import get_settings

    settings = get_settings()
    book = _load_rulebook_or_exit(candidate)
    path = csv_out or Path(f"simulation-{book.version}.csv")
    writable_or_exit(path)  # before the replay, which a typo in a directory name would waste
    since_utc = since.replace(tzinfo=UTC) if since is not None and since.tzinfo is None else since

    async def main() -> SimulationReport:
        engine = make_engine(settings.effective_database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                total = await count_tickets(session, since_utc)
                with Progress(console=err, transient=True) as progress:
                    task = progress.add_task("replaying tickets", total=total)
                    return await simulate(session, book, since=since_utc, progress=lambda n: progress.advance(task, n))
        finally:
            await engine.dispose()

    report = run(main())
    table = Table("tickets", "not routed", "changed tier", "changed priority", "changed")
    table.add_row(
        str(report.tickets),
        str(report.skipped_unrouted),
        str(report.changed_tier),
        str(report.changed_priority),
        str(report.changed),
    )
    console.print(table)
    if report.tier_moves:
        moves = Table("from tier", "to tier", "tickets", title="tier moves")
        for (a, b), n in sorted(report.tier_moves.items()):
            moves.add_row(str(a), str(b), str(n))
        console.print(moves)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "ticket_id",
                "ref",
                "created_at",
                "tier_before",
                "tier_after",
                "priority_before",
                "priority_after",
                "rules_after",
            ]
        )
        for d in report.differences:
            writer.writerow(
                [
                    d.ticket_id,
                    d.ref,
                    d.created_at.isoformat(),
                    d.tier_before,
                    d.tier_after,
                    d.priority_before,
                    d.priority_after,
                    " ".join(d.rules_after),
                ]
            )
    console.print(f"differences written to {path}")
