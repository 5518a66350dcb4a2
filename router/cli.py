"""The ``tierroute`` command line.

This module and ``router.asgi`` are the composition root: the only places in ``router`` that import
``queues`` (to wire the Redis-backed queue, effect sink and workers into the application).
"""

from __future__ import annotations

import asyncio
import csv
import json
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from router.reports import cli as reports_cli
from router.settings import Settings, get_settings
from router.webhooks import cli as webhooks_cli
from rules import AttachmentInfo

if TYPE_CHECKING:
    from router.routing.simulate import SimulationReport
    from rules import Decision, Rulebook, Snapshot

app = typer.Typer(
    help="tierroute: support-ticket escalation router.", no_args_is_help=True, pretty_exceptions_enable=False
)
agents_app = typer.Typer(help="Manage helpdesk agents.", no_args_is_help=True)
customers_app = typer.Typer(help="Manage customers.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the audit trail.", no_args_is_help=True)
rules_app = typer.Typer(help="Work with rulebooks.", no_args_is_help=True)
app.add_typer(agents_app, name="agents")
app.add_typer(customers_app, name="customers")
app.add_typer(audit_app, name="audit")
app.add_typer(rules_app, name="rules")
app.add_typer(webhooks_cli.app, name="webhooks")
app.add_typer(reports_cli.app, name="report")

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def _parse_tiers(text: str) -> list[int]:
    try:
        tiers = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise typer.BadParameter(f"tiers are numbers separated by commas, like 0,1 (got {text!r})") from None
    if any(not 0 <= t <= 4 for t in tiers):
        raise typer.BadParameter(f"support tiers are 0 to 4 (got {text!r})")
    return tiers


def _run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    try:
        import uvloop

        return uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is optional
        return asyncio.run(main())


@asynccontextmanager
async def _runtime(settings: Settings) -> AsyncIterator[object]:
    from queues.runtime import open_runtime

    async with open_runtime(settings) as runtime:
        yield runtime


async def _in_session(settings: Settings, work: Callable[..., Awaitable[T]]) -> T:
    """Run ``work(session, runtime)`` in one transaction, committed (and effects applied) at the end."""
    from queues.runtime import open_runtime
    from router.unit_of_work import transaction

    async with (
        open_runtime(settings) as runtime,
        transaction(runtime.app.sessionmaker, runtime.app.effects) as session,
    ):
        return await work(session, runtime)


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    tiers: Annotated[str, typer.Option(help="Tier queues the built-in workers serve.")] = "0,1,2,3,4",
) -> None:
    """Run the API and all workers in one process (embedded SQLite and Redis unless configured)."""
    import uvicorn

    from queues.runtime import open_runtime
    from queues.worker import run_workers
    from router.app import create_app

    settings = get_settings()
    tier_list = _parse_tiers(tiers)

    async def main() -> None:
        async with open_runtime(settings) as runtime:

            @asynccontextmanager
            async def shared(_: Settings) -> AsyncIterator[object]:
                yield runtime.app

            api = create_app(settings, shared)  # type: ignore[arg-type]
            # Open live-update streams (the web UI's server-sent events) would hold a graceful shutdown
            # for as long as they last; browsers reconnect on their own, so they get a few seconds.
            config = uvicorn.Config(
                api, host=host, port=port, log_level="info", access_log=False, timeout_graceful_shutdown=5
            )
            server = uvicorn.Server(config)
            workers = asyncio.create_task(run_workers(runtime, tier_list))
            console.print(
                f"tierroute is up: http://{host}:{port}  (agent UI: http://{host}:{port}/ui/, "
                f"API docs: http://{host}:{port}/docs)"
            )
            try:
                await server.serve()
            finally:
                workers.cancel()
                await asyncio.gather(workers, return_exceptions=True)

    _run(main())


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Run the API only (workers run separately with `tierroute worker`)."""
    import uvicorn

    uvicorn.run(
        "router.asgi:create",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=5,  # see ``up``: live-update streams must not hold a shutdown
    )


@app.command()
def worker(
    tiers: Annotated[str, typer.Option(help="Tier automation queues to serve, e.g. 0,1.")] = "0,1,2,3,4",
    routing: Annotated[bool, typer.Option(help="Also serve the routing and mail queues.")] = True,
    burst: Annotated[bool, typer.Option(help="Stop once the queues are empty.")] = False,
) -> None:
    """Run arq workers for the routing queue and the chosen tiers (reconciles Redis first)."""
    from queues.runtime import open_runtime
    from queues.worker import drain, run_workers

    settings = get_settings()
    tier_list = _parse_tiers(tiers)

    async def main() -> None:
        async with open_runtime(settings) as runtime:
            if burst:
                from queues.reconcile import reconcile

                await reconcile(runtime.app, runtime.pool)
                console.print(await drain(runtime, tier_list, routing=routing))
                return
            # SIGTERM/SIGINT cancel the workers: running jobs are cancelled, arq puts them back in the
            # queue, and the workers close before Redis connections do.
            task = asyncio.current_task()
            assert task is not None
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, task.cancel)
            try:
                await run_workers(runtime, tier_list, routing=routing)
            except asyncio.CancelledError:
                console.print("workers stopped")

    _run(main())


@app.command()
def smtp(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 2525,
) -> None:
    """Run the SMTP listener: mail to the support addresses (TIERROUTE_SUPPORT_ADDRESSES) becomes tickets."""
    from queues.runtime import open_runtime
    from router.intake.smtp import serve_smtp

    settings = get_settings()

    async def main() -> None:
        async with open_runtime(settings) as runtime:
            server = await serve_smtp(runtime.app, host, port)
            console.print(f"SMTP listener on {host}:{port}")
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
            server.close()
            await server.wait_closed()

    _run(main())


@app.command()
def imap(once: Annotated[bool, typer.Option(help="Poll each mailbox once and exit.")] = False) -> None:
    """Poll the IMAP mailboxes in TIERROUTE_IMAP_URLS; each unseen mail is ingested, then flagged seen."""
    from queues.runtime import open_runtime
    from router.intake.imap import Mailbox, poll

    settings = get_settings()
    if not settings.imap_urls:
        typer.echo("error: no mailboxes: set TIERROUTE_IMAP_URLS (a JSON list of imap:// URLs)", err=True)
        raise typer.Exit(2)
    mailboxes = [Mailbox(url) for url in settings.imap_urls]

    async def main() -> None:
        async with open_runtime(settings) as runtime:
            while True:
                for mailbox in mailboxes:
                    try:
                        report = await poll(runtime.app, mailbox)
                        console.print(f"{mailbox.label}: {report}")
                    except Exception as exc:  # one bad mailbox must not stop the others
                        typer.echo(f"{mailbox.label}: {exc.__class__.__name__}: {exc}", err=True)
                if once:
                    return
                await asyncio.sleep(settings.imap_poll_seconds)

    _run(main())


@app.command("reconcile")
def reconcile_cmd() -> None:
    """Rebuild tier queues, pending jobs and SLA timers in Redis from the database."""
    from queues.reconcile import reconcile
    from queues.runtime import open_runtime

    async def main() -> None:
        async with open_runtime(get_settings()) as runtime:
            report = await reconcile(runtime.app, runtime.pool)
        table = Table("tier", "queued")
        for tier, count in report.queued.items():
            table.add_row(str(tier), str(count))
        console.print(table)
        console.print(
            f"routing jobs enqueued: {report.routing_enqueued}; automation jobs enqueued: {report.automation_enqueued}"
        )
        console.print(f"SLA timers scheduled: {report.sla_timers}")

    _run(main())


@app.command()
def demo(tickets: Annotated[int, typer.Option(help="How many demo tickets (first run only).")] = 200) -> None:
    """Load demo customers (all four tiers), agents for every support tier and varied tickets."""
    from router import demo as demo_data

    async def work(session: object, runtime: object) -> demo_data.DemoResult:
        return await demo_data.load(session, runtime.app.effects, tickets_wanted=tickets)  # type: ignore[attr-defined,arg-type]

    result = _run(_in_session(get_settings(), work))
    console.print(f"demo data: {result.customers} customers, {result.agents} new agents, {result.tickets} new tickets")
    console.print(f"lead {result.lead_email} token: [bold]{result.lead_token}[/bold]")
    console.print("agents' web password is 'demo'")


@agents_app.command("add")
def agents_add(
    name: Annotated[str, typer.Option(help="Full name.")],
    email: Annotated[str, typer.Option(help="Email address (unique).")],
    role: Annotated[str, typer.Option(help="agent, lead or admin.")] = "agent",
    tiers: Annotated[str, typer.Option(help="Support tiers worked, e.g. 1,2.")] = "1",
    password: Annotated[
        str | None,
        typer.Option(
            help="Web UI password (argon2-hashed); prefer TIERROUTE_AGENT_PASSWORD or --ask-password.",
            envvar="TIERROUTE_AGENT_PASSWORD",
        ),
    ] = None,
    ask_password: Annotated[bool, typer.Option(help="Prompt for the web UI password (not echoed).")] = False,
) -> None:
    """Add an agent and print their API token (shown once; stored hashed); with a password they can sign in."""
    from router.agents import service as agents
    from router.errors import DomainError

    tier_list = _parse_tiers(tiers)
    if ask_password:
        password = typer.prompt("Web UI password", hide_input=True, confirmation_prompt=True)
    if password is not None and len(password) < 8:
        typer.echo("error: a web UI password needs at least 8 characters", err=True)
        raise typer.Exit(2)

    async def work(session: object, _runtime: object) -> str:
        agent = await agents.add_agent(
            session,  # type: ignore[arg-type]
            name=name,
            email=email,
            role=role,
            tiers=tier_list,
            password=password,
        )
        return await agents.issue_token(session, agent, label="cli")  # type: ignore[arg-type]

    try:
        token = _run(_in_session(get_settings(), work))
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    console.print(f"agent {email} added ({role}, tiers {','.join(map(str, tier_list))})")
    if password:
        console.print("web UI sign-in enabled: /ui/login")
    console.print(f"API token (shown once): {token}")


@customers_app.command("import")
def customers_import(
    file: Annotated[Path, typer.Argument(help="CSV: external_ref,name,tier,domains,contacts (';' separated).")],
) -> None:
    """Import customers from CSV; any bad row is reported with its line and nothing is imported."""
    from router.customers import service as customers
    from router.errors import DomainError

    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[str] = []
    try:
        with file.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"external_ref", "name", "tier"} - set(reader.fieldnames or [])
            if missing:
                problems.append(f"{file}:1: missing columns: {', '.join(sorted(missing))}")
            for row in reader:
                line = reader.line_num
                tier = row.get("tier", "")
                if not tier.isdigit() or not 1 <= int(tier) <= 4:
                    problems.append(f"{file}:{line}: tier must be 1 to 4 (got {tier!r})")
                if not row.get("external_ref") or not row.get("name"):
                    problems.append(f"{file}:{line}: external_ref and name are required")
                rows.append((line, row))
    except OSError as exc:
        typer.echo(f"error: {file}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    if problems:
        for p in problems:
            typer.echo(p, err=True)
        raise typer.Exit(2)

    def split(value: str | None) -> list[str]:
        return [v.strip() for v in (value or "").split(";") if v.strip()]

    async def work(session: object, _runtime: object) -> int:
        for line, row in rows:
            try:
                await customers.create_customer(
                    session,  # type: ignore[arg-type]
                    external_ref=row["external_ref"],
                    name=row["name"],
                    tier=int(row["tier"]),
                    domains=split(row.get("domains")),
                    contacts=split(row.get("contacts")),
                )
            except DomainError as exc:
                raise DomainError(f"{file}:{line}: {exc.detail}") from exc
        return len(rows)

    try:
        count = _run(_in_session(get_settings(), work))
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}; nothing was imported", err=True)
        raise typer.Exit(2) from None
    console.print(f"imported {count} customers")


@audit_app.command("verify")
def audit_verify() -> None:
    """Verify every ticket's hash chain; exits 1 and names the tickets whose chain is broken."""
    from router.audit import service as audit
    from router.db import make_engine, make_sessionmaker, migrate

    settings = get_settings()

    async def main() -> tuple[int, list[str]]:
        url = settings.effective_database_url
        await asyncio.to_thread(migrate, url)
        engine = make_engine(url)
        broken: list[str] = []
        checked = 0
        try:
            async with make_sessionmaker(engine)() as session:
                with Progress(console=err, transient=True) as progress:
                    task = progress.add_task("verifying audit chains", total=None)
                    async for report in audit.verify_all(session):
                        checked += 1
                        progress.advance(task)
                        if not report.valid:
                            broken.append(f"ticket {report.ticket_id}: event {report.broken_at_seq}: {report.problem}")
        finally:
            await engine.dispose()
        return checked, broken

    checked, broken = _run(main())
    for line in broken:
        typer.echo(f"BROKEN {line}", err=True)
    console.print(f"checked {checked} tickets: {checked - len(broken)} valid, {len(broken)} broken")
    if broken:
        raise typer.Exit(1)


@rules_app.command("check")
def rules_check(file: Annotated[Path, typer.Argument(help="Rulebook YAML file.")]) -> None:
    """Check a rulebook; lists every problem as file:line:column and exits 1 if there is any."""
    from rules import RulebookError, load_rulebook

    try:
        rulebook = load_rulebook(file)
    except RulebookError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(exc.problems)} problem(s)", err=True)
        raise typer.Exit(1) from None
    console.print(f"{file}: {len(rulebook.rules)} rules, version {rulebook.version}: ok")


def _load_rulebook_or_exit(path: Path) -> Rulebook:
    from rules import RulebookError, load_rulebook

    try:
        return load_rulebook(path)
    except RulebookError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(2) from None


def _print_decision(decision: Decision, as_json: bool) -> None:
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


@rules_app.command("explain")
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
    from rules import Snapshot

    settings = get_settings()
    book = _load_rulebook_or_exit(rulebook or settings.rulebook)
    if sum(x is not None for x in (ticket, json_file, eml)) != 1:
        typer.echo("error: give exactly one of --ticket, --json, --eml", err=True)
        raise typer.Exit(2)
    if json_file is not None:
        try:
            snapshot = Snapshot.from_mapping(json.loads(json_file.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
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
        snapshot = _run(_stored_snapshot(settings, ticket))
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


@rules_app.command("test")
def rules_test(
    cases: Annotated[Path, typer.Argument(help="Cases YAML: [{name, input, expect}].")],
    rulebook: Annotated[Path | None, typer.Option(help="Rulebook to test (default: the configured one).")] = None,
) -> None:
    """Run rulebook authors' cases; failures are shown as expected/actual and the exit code is 1."""
    from rules import RulebookError
    from rules.cases import load_cases, run_cases

    book = _load_rulebook_or_exit(rulebook or get_settings().rulebook)
    try:
        loaded = load_cases(cases)
    except RulebookError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
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


@rules_app.command("simulate")
def rules_simulate(
    candidate: Annotated[Path, typer.Argument(help="The candidate rulebook.")],
    since: Annotated[datetime | None, typer.Option(help="Only tickets created since this date.")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Where to write the differences.")] = None,
) -> None:
    """Dry run: replay stored tickets through CANDIDATE and report what would change tier or priority."""
    from router.db import make_engine, make_sessionmaker
    from router.routing.simulate import count_tickets, simulate

    settings = get_settings()
    book = _load_rulebook_or_exit(candidate)
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

    report = _run(main())
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
    path = csv_out or Path(f"simulation-{report.candidate_version}.csv")
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


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
