"""The ``tierroute`` command line against the real database: tokens, imports, rulebook checks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
from sqlmodel import func, select

from queues.runtime import Runtime
from router.models.customers import Customer, CustomerTierChange
from router.settings import Settings
from tests.cli_in_process import run_cli
from tests.conftest import auth


def tierroute(settings: Settings, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``tierroute *args`` on ``settings``' database, Redis and data dir, in this process (tests/cli_in_process.py)."""
    env = {
        **(env or {}),
        "TIERROUTE_DATABASE_URL": settings.effective_database_url,
        "TIERROUTE_REDIS_URL": settings.redis_url or "",
        "TIERROUTE_DATA_DIR": str(settings.data_dir),
    }
    return run_cli(*args, env=env)


async def test_agents_add_prints_a_working_token_once(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings
) -> None:
    done = tierroute(settings, "agents", "add", "--name", "Ann", "--email", "ann@support.example", "--tiers", "1,2")
    assert done.returncode == 0, done.stderr
    token = done.stdout.split("API token (shown once): ")[1].split()[0]
    assert (await client.get("/api/v1/queues", headers=auth(token))).status_code == 200
    assert (await client.post("/api/v1/queues/3/claim", headers=auth(token))).status_code == 403
    again = tierroute(settings, "agents", "add", "--name", "Ann", "--email", "ann@support.example")
    assert again.returncode == 2 and "exists" in again.stderr
    bad = tierroute(settings, "agents", "add", "--name", "B", "--email", "b@support.example", "--tiers", "1,9")
    assert bad.returncode != 0 and "support tiers are 0 to 4" in bad.stderr


async def test_customers_import_is_all_or_nothing_with_located_errors(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("external_ref,name,tier,domains\nacme,Acme,1,acme.example\nbeta,Beta,7,beta.example\n")
    result = tierroute(settings, "customers", "import", str(bad))
    assert result.returncode == 2
    assert f"{bad}:3:11: tier must be 1 to 4" in result.stderr
    good = tmp_path / "good.csv"
    good.write_text(
        "external_ref,name,tier,domains,contacts\nacme,Acme,1,acme.example;acme.example.org,boss@else.example\n"
    )
    assert tierroute(settings, "customers", "import", str(good)).returncode == 0
    dup = tierroute(settings, "customers", "import", str(good))
    assert dup.returncode == 2 and f"{good}:2:" in dup.stderr and "nothing was imported" in dup.stderr
    async with runtime.app.sessionmaker() as s:
        assert (await s.exec(select(func.count()).select_from(Customer))).one() == 1
        history = (await s.exec(select(CustomerTierChange))).all()
        assert [(h.from_tier, h.to_tier, h.reason) for h in history] == [(None, 1, "onboarding")]


def test_customers_import_refuses_a_file_that_is_not_utf8_with_its_location(tmp_path: Path) -> None:
    """A spreadsheet saved as Latin-1: a located message and exit 2, never a traceback; nothing is read."""
    settings = Settings(data_dir=tmp_path)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("external_ref,name,tier\nacme,Acme,1\nbeta,Société Générale,2\n".encode("latin-1"))
    result = tierroute(settings, "customers", "import", str(latin1))
    assert result.returncode == 2
    assert f"{latin1}:3:10: not UTF-8 text (byte 0xe9)" in result.stderr
    assert "Traceback" not in result.stderr
    digits = tmp_path / "digits.csv"
    digits.write_text("\ufeffexternal_ref,name,tier\nacme,Acme,\u00b2\n", encoding="utf-8")
    result = tierroute(settings, "customers", "import", str(digits))
    assert result.returncode == 2 and f"{digits}:2:11: tier must be 1 to 4" in result.stderr


def test_rules_check_lists_every_problem(tmp_path: Path) -> None:
    book = tmp_path / "book.yaml"
    book.write_text("rules:\n  - id: a\n    when: {field: nope, in: [1]}\n    then: {support_tier: 9}\n")
    result = run_cli("rules", "check", str(book))
    assert result.returncode == 1
    assert f"{book}:3:12: unknown field 'nope'" in result.stderr
    assert f"{book}:4:12: support tier must be" in result.stderr
    default = Path(__file__).resolve().parents[1] / "rules" / "default.yaml"
    ok = run_cli("rules", "check", str(default))
    assert ok.returncode == 0 and "ok" in ok.stdout
