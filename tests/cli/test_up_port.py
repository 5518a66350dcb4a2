"""``tierroute up`` on a port that is taken says so in one line and starts nothing: no database, no embedded
Redis, no worker process (issue 16, item 23)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m router.cli *args`` on the embedded defaults in ``tmp_path/data``; killed (with anything it
    started) if it has not ended within 60 s."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("DATABASE_URL", "REDIS_URL"))}
    env["TIERROUTE_DATA_DIR"] = str(tmp_path / "data")
    process = subprocess.Popen(
        [sys.executable, "-m", "router.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{' '.join(args)} still running after 60 s:\n{stdout}\n{stderr}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize("command", ["up", "serve"])
def test_a_busy_port_is_one_line_and_nothing_starts(tmp_path: Path, command: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli(tmp_path, command, "--host", "127.0.0.1", "--port", str(port))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "tierroute is up" not in done.stdout and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{port}: ") and "in use" in line
    data = tmp_path / "data"
    assert not (data / "tierroute.db").exists() and not (data / "redis").exists()  # no database, no Redis


def test_up_serves_on_the_socket_it_checked(tmp_path: Path) -> None:
    """The socket bound for the check is the one uvicorn serves on (no second bind, no race)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.endswith(("DATABASE_URL", "REDIS_URL"))}
    env["TIERROUTE_DATA_DIR"] = str(tmp_path / "data")
    args = [sys.executable, "-m", "router.cli", "up", "--port", str(port), "--no-worker-process"]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail("tierroute up did not answer /healthz within 60 s")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode in (0, 128 + signal.SIGTERM), output  # a clean stop, however SIGTERM is reported
    assert f"tierroute is up: http://127.0.0.1:{port}" in output
