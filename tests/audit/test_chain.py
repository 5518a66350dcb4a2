"""The audit trail is tamper-evident: edits, deletions and a cut tail are all caught, by API and CLI."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from queues.runtime import Runtime
from queues.worker import drain
from router.settings import Settings
from tests.cli_in_process import run_cli
from tests.conftest import auth, make_agent, ticket_json

TAMPERING = {
    "edited reason": ("UPDATE audit_event SET reason = 'nothing to see' WHERE ticket_id = :t AND seq = 4", 4),
    "edited data": ("UPDATE audit_event SET to_tier = 1 WHERE ticket_id = :t AND seq = 2", 2),
    "deleted middle": ("DELETE FROM audit_event WHERE ticket_id = :t AND seq = 3", 3),
    "cut tail": ("DELETE FROM audit_event WHERE ticket_id = :t AND seq = 4", 4),
}


async def ticket_with_history(runtime: Runtime, client: httpx.AsyncClient, token: str) -> int:
    tid = int((await client.post("/api/v1/tickets", json=ticket_json(), headers=auth(token))).json()["id"])
    await drain(runtime)  # created, routed, automation
    await client.post(f"/api/v1/tickets/{tid}/escalate", json={"reason": "deep dive"}, headers=auth(token))
    return tid


@pytest.mark.parametrize("kind", list(TAMPERING))
async def test_tampering_is_detected(runtime: Runtime, client: httpx.AsyncClient, kind: str) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await ticket_with_history(runtime, client, lead)
    other = await ticket_with_history(runtime, client, lead)
    assert (await client.get(f"/api/v1/tickets/{tid}/audit/verify", headers=auth(lead))).json()["valid"] is True
    sql, broken_at = TAMPERING[kind]
    async with runtime.app.engine.begin() as conn:
        await conn.execute(text(sql), {"t": tid})
    report = (await client.get(f"/api/v1/tickets/{tid}/audit/verify", headers=auth(lead))).json()
    assert report["valid"] is False
    assert report["broken_at_seq"] == broken_at
    assert report["problem"]
    assert (await client.get(f"/api/v1/tickets/{other}/audit/verify", headers=auth(lead))).json()["valid"] is True


async def test_cli_audit_verify_names_the_broken_ticket(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    good = await ticket_with_history(runtime, client, lead)
    bad = await ticket_with_history(runtime, client, lead)
    env = {
        "TIERROUTE_DATABASE_URL": settings.effective_database_url,
        "TIERROUTE_REDIS_URL": settings.redis_url or "",
    }
    ok = run_cli("audit", "verify", env=env)
    assert ok.returncode == 0, ok.stderr
    assert "checked 2 tickets: 2 valid, 0 broken" in ok.stdout
    async with runtime.app.engine.begin() as conn:
        await conn.execute(
            text("UPDATE audit_event SET actor = 'agent:0' WHERE ticket_id = :t AND seq = 1"), {"t": bad}
        )
    broken = run_cli("audit", "verify", env=env)
    assert broken.returncode == 1
    assert f"BROKEN ticket {bad}: event 1" in broken.stderr
    assert f"ticket {good}:" not in broken.stderr
