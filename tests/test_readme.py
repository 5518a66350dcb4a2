"""The README's curl examples work as written after ``make run`` (issue 16 item 31).

The test does what a reader does: ``tierroute demo`` (200 demo tickets, as ``make run`` loads) and
``tierroute up`` on a free port, in a fresh data directory (SQLite and the embedded Redis, as ``make run``
uses), then runs the README's example block in bash with the printed token, each ``curl`` made to fail on
an HTTP error. An example that only works on an empty database fails here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
pytestmark = pytest.mark.slow


def readme_examples() -> str:
    """The shell block that starts with the token ``make run`` prints."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    found = [b for b in blocks if b.startswith("TOKEN=trt_")]
    assert len(found) == 1, "the README has one example block starting with TOKEN=trt_..."
    return found[0]


def _cli_env(data_dir: Path) -> dict[str, str]:
    """``make run``'s environment: nothing configured, so SQLite and Redis live in the data directory."""
    drop = {"TIERROUTE_DATABASE_URL", "DATABASE_URL", "TIERROUTE_REDIS_URL", "REDIS_URL", "TIERROUTE_WEBHOOKS"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "TIERROUTE_DATA_DIR": str(data_dir)}


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """``tierroute demo`` then ``tierroute up --port P``: the port and the lead's token."""
    env = _cli_env(tmp_path / "data")
    demo = subprocess.run(
        [sys.executable, "-m", "router.cli", "demo"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180
    )
    assert demo.returncode == 0, demo.stderr
    token = re.search(r"token: (trt_\S+)", demo.stdout)
    assert token, demo.stdout
    port = free_port()
    log = (tmp_path / "up.log").open("w")
    up = subprocess.Popen(
        [sys.executable, "-m", "router.cli", "up", "--port", str(port)], env=env, cwd=tmp_path, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5):
                    break
            except OSError:
                assert up.poll() is None, (tmp_path / "up.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "up.log").read_text()
                time.sleep(0.5)
        yield port, token.group(1)
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(timeout=90)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait(timeout=30)
        log.close()


def test_the_readme_examples_work_after_make_run(demo_server: tuple[int, str]) -> None:
    port, token = demo_server
    block = readme_examples()
    assert "localhost:8000" in block
    script = "\n".join(
        [
            "set -euo pipefail",
            # Every example must succeed: an HTTP error (a 409 on a demo ticket already at tier 4, a 404 on an
            # id that only exists in an empty database) stops the script.
            'curl() { command curl --fail-with-body --show-error --max-time 30 "$@"; echo; }',
            re.sub(r"^TOKEN=trt_\S*", f"TOKEN={token}", block.replace("localhost:8000", f"localhost:{port}"), count=1),
            'echo "ticket=${ID}"',
        ]
    )
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    lines = done.stdout.strip().splitlines()
    ticket_id = int(lines[-1].removeprefix("ticket="))
    verify = json.loads(lines[-2])
    assert verify["valid"] is True, verify

    def get(path: str) -> object:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1{path}", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    ticket = get(f"/tickets/{ticket_id}")
    assert isinstance(ticket, dict)
    assert ticket["subject"] == "Production down" and ticket["escalation_count"] == 1, ticket
    assert ticket_id > 200, "the examples act on the ticket they created, not on a demo ticket"
