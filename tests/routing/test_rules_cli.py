"""``tierroute rules explain | test | simulate`` on real files, emails and the database."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import httpx

from queues.runtime import Runtime
from queues.worker import drain
from router.settings import Settings
from tests.cli_in_process import run_cli
from tests.conftest import MAIL_CORPUS, auth, make_agent, ticket_json
from tests.routing.test_rules_api import CANDIDATE

ROOT = Path(__file__).resolve().parents[2]


def tierroute(
    *args: str, settings: Settings | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``tierroute rules *args`` in this process (tests/cli_in_process.py), on ``settings``' database and Redis."""
    env = {}
    if settings is not None:
        env["TIERROUTE_DATABASE_URL"] = settings.effective_database_url
        env["TIERROUTE_REDIS_URL"] = settings.redis_url or ""
    return run_cli("rules", *args, env=env, cwd=cwd)


def test_rules_test_passes_the_shipped_cases_and_diffs_failures(tmp_path: Path) -> None:
    ok = tierroute("test", str(ROOT / "rules" / "default.cases.yaml"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "0 failed" in ok.stdout
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "- name: wrong on purpose\n  input: {subject: Invoice twice, customer_tier: 3}\n"
        "  expect: {support_tier: 3, tags: [billing]}\n"
    )
    bad = tierroute("test", str(cases))
    assert bad.returncode == 1
    assert f"FAIL {cases}:1 wrong on purpose" in bad.stdout
    assert "support_tier: - expected 3  + got 1" in bad.stdout
    assert "0 passed, 1 failed" in bad.stdout


def test_explain_a_json_snapshot_prints_the_matched_rules(tmp_path: Path) -> None:
    snapshot = tmp_path / "s.json"
    snapshot.write_text(json.dumps({"subject": "Production down", "customer_tier": 1}))
    out = tierroute("explain", "--json", str(snapshot), "--as-json")
    assert out.returncode == 0, out.stderr
    decision = json.loads(out.stdout)
    assert decision["support_tier"] == 3
    assert decision["matched"][0]["rule_id"] == "outage"
    assert decision["matched"][0]["saw"] == {"text keywords": ["production down"]}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"subjekt": "x"}))
    refused = tierroute("explain", "--json", str(bad))
    assert refused.returncode == 2 and "unknown snapshot field(s): subjekt" in refused.stderr


def test_explain_a_real_email(tmp_path: Path) -> None:
    eml = next((MAIL_CORPUS / "plain_emails").rglob("*.eml"))
    out = tierroute("explain", "--eml", str(eml), "--as-json")
    assert out.returncode == 0, out.stderr
    assert 0 <= json.loads(out.stdout)["support_tier"] <= 4


async def test_explain_a_stored_ticket_and_simulate(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = (
        await client.post("/api/v1/tickets", json=ticket_json(subject="Invoice wrong", body="x"), headers=auth(lead))
    ).json()["id"]
    await drain(runtime)
    out = tierroute("explain", "--ticket", str(tid), "--as-json", settings=settings)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["queue_group"] == "billing"
    missing = tierroute("explain", "--ticket", "999999", settings=settings)
    assert missing.returncode == 2 and "does not exist" in missing.stderr

    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(CANDIDATE)
    report = tmp_path / "diff.csv"
    sim = tierroute("simulate", str(candidate), "--csv", str(report), settings=settings)
    assert sim.returncode == 0, sim.stderr
    rows = list(csv.DictReader(report.open()))
    assert [(r["ticket_id"], r["tier_before"], r["tier_after"]) for r in rows] == [(str(tid), "1", "2")]
    assert "differences written to" in sim.stdout
