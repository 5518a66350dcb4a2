"""``tierroute``: the typer app and the long-running processes (up, serve, worker, smtp, imap, reconcile).

The command groups live beside this module, one each: ``admin`` (demo, agents, customers), ``audit``, ``rules``,
``reports`` and ``webhooks``.

Start-up stays light: importing this module (which every command, and ``--help``, does) loads typer and rich
only. Each command imports what it uses when it runs — the web app, arq, the database, the rules engine —
so a small command does not pay for the big ones (``tests/cli/test_startup.py`` holds this).
"""

from __future__ import annotations

import contextlib
import errno
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from router.cli import (  # noqa: F401 (agents, customer_cost: register their commands)
    accounts,
    admin,
    agents,
    assignment,
    audit,
    common,
    customer_cost,
    kb,
    reports,
    rules,
    tiers,
    webhooks,
)
from router.cli.common import console, parse_tiers, run, settings_or_exit

if TYPE_CHECKING:
    import socket

    from router.settings import Settings

app = typer.Typer(
    help="tierroute: support-ticket escalation router.", no_args_is_help=True, pretty_exceptions_enable=False
)


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    tiers: Annotated[str, typer.Option(help="Tier queues the built-in workers serve.")] = "0,1,2,3,4",
    worker_process: Annotated[
        bool,
        typer.Option(
            help="Run the workers in a second process (uses a second core; it stops with this one). "
            "--no-worker-process keeps everything in one process."
        ),
    ] = True,
) -> None:
    """Run the API and the workers (embedded SQLite and Redis unless configured)."""
    import asyncio

    import uvicorn

    from queues.runtime import open_runtime
    from queues.worker import run_workers
    from router.app import create_app

    tier_list = parse_tiers(tiers)
    listening = bind_or_exit(host, port)  # before the database, Redis or the worker process start
    settings = settings_or_exit()

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
            if worker_process:  # started once the runtime is open: it shares this process's embedded Redis
                child = start_worker_process(tiers)
                workers = asyncio.create_task(watch_worker_process(child, tiers))
            else:
                workers = asyncio.create_task(run_workers(runtime, tier_list))
            console.print(
                f"tierroute is up: http://{host}:{port}  (agent UI: http://{host}:{port}/ui/, "
                f"API docs: http://{host}:{port}/docs)"
            )
            try:
                await server.serve(sockets=[listening])
            finally:
                workers.cancel()
                await asyncio.gather(workers, return_exceptions=True)

    run(main())


def bind_or_exit(host: str, port: int) -> socket.socket:
    """The API's socket, bound as uvicorn binds one (``SO_REUSEADDR``): a port that is taken (or an address
    that is not this machine's) is one line and exit 2 before anything has started."""
    import socket

    def refuse(reason: str) -> NoReturn:
        typer.echo(f"error: cannot listen on {host}:{port}: {reason}", err=True)
        raise typer.Exit(2)

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        refuse(f"unknown address ({exc})")
    listening = socket.socket(family, kind, proto)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind(address)
    except OSError as exc:
        listening.close()
        reason = (exc.strerror or str(exc)).lower()
        if exc.errno == errno.EADDRINUSE:
            reason += " (is tierroute already running? choose another --port)"
        refuse(reason)
    return listening


def start_worker_process(tiers: str) -> subprocess.Popen[bytes]:
    """``tierroute worker`` as a child with this process's environment. On Linux the child is sent SIGTERM
    if this process dies, even by SIGKILL (``PR_SET_PDEATHSIG``), so no orphan keeps working."""

    def die_with_parent() -> None:
        import ctypes
        import ctypes.util

        with contextlib.suppress(Exception):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return subprocess.Popen(
        [sys.executable, "-m", "router.cli", "worker", "--tiers", tiers],
        preexec_fn=die_with_parent if sys.platform == "linux" else None,
    )


async def watch_worker_process(child: subprocess.Popen[bytes], tiers: str) -> None:
    """Keep the worker child running (started again a second after it exits); when cancelled (shutdown),
    stop it gracefully (SIGTERM, then SIGKILL after 15 s)."""
    import asyncio

    try:
        while True:
            if child.poll() is not None:
                console.print(f"[yellow]the worker process exited ({child.returncode}); starting it again[/yellow]")
                await asyncio.sleep(1)
                child = start_worker_process(tiers)
            await asyncio.sleep(0.5)
    except asyncio.CancelledError:
        child.terminate()
        try:
            await asyncio.to_thread(child.wait, 15)
        except subprocess.TimeoutExpired:
            child.kill()
        raise


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Run the API only (workers run separately with `tierroute worker`)."""
    import uvicorn

    settings_or_exit()  # a wrong setting is one line here, not a traceback from the app factory
    bind_or_exit(host, port).close()  # a taken port is one line, before the app opens its database and Redis

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
    import asyncio

    from queues.runtime import open_runtime
    from queues.worker import drain, run_workers
    from router import heap

    settings = settings_or_exit()
    tier_list = parse_tiers(tiers)

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
            heap.freeze_startup_heap()  # a job should not wait 150-200 ms for a full garbage collection
            try:
                await run_workers(runtime, tier_list, routing=routing)
            except asyncio.CancelledError:
                console.print("workers stopped")

    run(main())


@app.command()
def smtp(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 2525,
) -> None:
    """Run the SMTP listener: mail to the support addresses (TIERROUTE_SUPPORT_ADDRESSES) becomes tickets."""
    import asyncio

    from queues.runtime import keep_effects_applied, open_runtime
    from router.intake.smtp import serve_smtp

    settings = settings_or_exit()

    async def main() -> None:
        async with open_runtime(settings) as runtime:
            server = await serve_smtp(runtime.app, host, port)
            keeper = asyncio.create_task(keep_effects_applied(runtime))
            console.print(f"SMTP listener on {host}:{port}")
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            server.close()
            await server.wait_closed()

    run(main())


@app.command()
def imap(once: Annotated[bool, typer.Option(help="Poll each mailbox once and exit.")] = False) -> None:
    """Poll the IMAP mailboxes in TIERROUTE_IMAP_URLS; each unseen mail is ingested, then flagged seen."""
    import asyncio

    from queues.runtime import keep_effects_applied, open_runtime
    from router.intake.imap import Mailbox, poll

    settings = settings_or_exit()
    if not settings.imap_urls:
        typer.echo("error: no mailboxes: set TIERROUTE_IMAP_URLS (a JSON list of imap:// URLs)", err=True)
        raise typer.Exit(2)
    mailboxes = [Mailbox(url) for url in settings.imap_urls]

    async def main() -> None:
        async with open_runtime(settings) as runtime:
            keeper = asyncio.create_task(keep_effects_applied(runtime))
            while True:
                for mailbox in mailboxes:
                    try:
                        report = await poll(runtime.app, mailbox)
                        console.print(f"{mailbox.label}: {report}")
                    except Exception as exc:  # one bad mailbox must not stop the others
                        typer.echo(f"{mailbox.label}: {exc.__class__.__name__}: {exc}", err=True)
                if once:
                    keeper.cancel()
                    await asyncio.gather(keeper, return_exceptions=True)
                    return
                await asyncio.sleep(settings.imap_poll_seconds)

    run(main())


@app.command("reconcile")
def reconcile_cmd() -> None:
    """Rebuild tier queues, pending jobs and SLA timers in Redis from the database."""
    from rich.table import Table

    from queues.lease import LeaseBusy
    from queues.reconcile import reconcile
    from queues.runtime import open_runtime

    async def main() -> None:
        async with open_runtime(settings_or_exit()) as runtime:
            try:
                report = await reconcile(runtime.app, runtime.pool)
            except LeaseBusy as exc:
                typer.echo(f"error: another process is still rebuilding the queues ({exc}); try again", err=True)
                raise typer.Exit(1) from None
        table = Table("tier", "queued")
        for tier, count in report.queued.items():
            table.add_row(str(tier), str(count))
        console.print(table)
        console.print(
            f"routing jobs enqueued: {report.routing_enqueued}; automation jobs enqueued: {report.automation_enqueued}"
        )
        console.print(f"SLA timers scheduled: {report.sla_timers}")

    run(main())


app.command()(admin.demo)
app.add_typer(admin.agents_app, name="agents")
accounts.install(admin.agents_app)
app.add_typer(admin.customers_app, name="customers")
tiers.install(admin.customers_app)
app.add_typer(tiers.app, name="tiers")
app.add_typer(audit.app, name="audit")
app.add_typer(rules.app, name="rules")
app.add_typer(assignment.app, name="assignment")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(reports.app, name="report")
app.add_typer(kb.app, name="kb")


def main() -> None:
    """The ``tierroute`` command: a wrong ``TIERROUTE_*`` setting, found by whichever command reads the
    settings first, is one line per value and exit 2, never a traceback."""
    try:
        app()
    except Exception as exc:
        from pydantic import ValidationError  # only now: `--help` must not pay for importing pydantic

        if not (isinstance(exc, ValidationError) and exc.title == "Settings"):
            raise
        for line in common.settings_problems(exc):
            typer.echo(line, err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()
