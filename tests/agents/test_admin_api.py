"""Agent administration over the API (issue 17 item 10): leads and admins add, change, deactivate, reset
passwords, issue and revoke tokens; every change lands in the admin log; bad input 422, collisions 409."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlmodel import col, select

from queues.runtime import Runtime
from router.agents import service as agents
from router.errors import Conflict
from router.models.admin import AdminEvent
from tests.conftest import auth, make_agent


async def _log(runtime: Runtime, subject: str) -> list[tuple[str, str, dict[str, object]]]:
    async with runtime.app.sessionmaker() as s:
        rows = await s.exec(select(AdminEvent).where(AdminEvent.subject == subject).order_by(col(AdminEvent.id)))
        return [(e.actor, e.action, e.data) for e in rows.all()]


async def test_a_lead_adds_changes_and_deactivates_an_agent_all_audited(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    lead, token = await make_agent(runtime, role="lead", tiers=())
    body = {"name": "Ann Lee", "email": "Ann@Support.Example", "tiers": [1, 2], "password": "long enough"}
    r = await client.post("/api/v1/agents", json=body, headers=auth(token))
    assert r.status_code == 201, r.text
    ann = r.json()
    assert (ann["email"], ann["role"], ann["tiers"], ann["has_password"]) == (
        "ann@support.example",
        "agent",
        [1, 2],
        True,
    )
    assert "password_hash" not in ann

    r = await client.patch(
        f"/api/v1/agents/{ann['id']}",
        json={"tiers": [3], "role": "lead", "time_zone": "Europe/Berlin"},
        headers=auth(token),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["tiers"], r.json()["role"], r.json()["time_zone"]) == ([3], "lead", "Europe/Berlin")

    r = await client.post(f"/api/v1/agents/{ann['id']}/deactivate", headers=auth(token))
    assert r.status_code == 200 and r.json()["active"] is False

    log = await _log(runtime, f"agent:{ann['id']}")
    assert [a for _, a, _ in log] == ["agent.added", "agent.changed", "agent.deactivated"]
    assert {actor for actor, _, _ in log} == {f"agent:{lead.id}"}
    assert log[1][2] == {"role": ["agent", "lead"], "tiers": [[1, 2], [3]], "time_zone": [None, "Europe/Berlin"]}
    assert "long enough" not in str(log)


async def test_collisions_and_bad_input_are_clear_problems(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=(), email="lead@support.example")
    r = await client.post("/api/v1/agents", json={"name": "X", "email": "LEAD@support.example"}, headers=auth(token))
    assert r.status_code == 409 and "lead@support.example exists" in r.json()["detail"]
    bad = [
        {"name": "X", "email": "not-an-address"},
        {"name": "X", "email": "x@support.example", "tiers": [7]},
        {"name": "X", "email": "x@support.example", "role": "boss"},
        {"name": "X", "email": "x@support.example", "password": "short"},
        {"name": " ", "email": "x@support.example"},
    ]
    for body in bad:
        r = await client.post("/api/v1/agents", json=body, headers=auth(token))
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    me = (await client.get("/api/v1/agents", headers=auth(token))).json()[0]
    r = await client.patch(f"/api/v1/agents/{me['id']}", json={"time_zone": "Mars/Olympus"}, headers=auth(token))
    assert r.status_code == 422 and "not a time zone name" in r.json()["detail"]
    assert (await client.get("/api/v1/agents/999999", headers=auth(token))).status_code == 404


async def test_who_may_manage_whom(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead, lead_token = await make_agent(runtime, role="lead", tiers=())
    admin, _ = await make_agent(runtime, role="admin", tiers=())
    _, agent_token = await make_agent(runtime, role="agent", tiers=(1,))
    assert (await client.get("/api/v1/agents", headers=auth(agent_token))).status_code == 403
    body = {"name": "Root", "email": "root@support.example", "role": "admin"}
    assert (await client.post("/api/v1/agents", json=body, headers=auth(lead_token))).status_code == 403
    r = await client.post(f"/api/v1/agents/{admin.id}/deactivate", headers=auth(lead_token))
    assert r.status_code == 403
    r = await client.post(f"/api/v1/agents/{lead.id}/deactivate", headers=auth(lead_token))
    assert r.status_code == 403 and "yourself" in r.json()["detail"]


async def test_tokens_issued_and_revoked_and_passwords_reset(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead_token = await make_agent(runtime, role="lead", tiers=())
    agent, _ = await make_agent(runtime, role="agent", tiers=(1,))
    r = await client.post(f"/api/v1/agents/{agent.id}/tokens", json={"label": "ci bot"}, headers=auth(lead_token))
    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["token"].startswith("trt_") and issued["token"].startswith(issued["prefix"])
    assert (await client.get("/api/v1/queues", headers=auth(issued["token"]))).status_code == 200
    listed = (await client.get(f"/api/v1/agents/{agent.id}/tokens", headers=auth(lead_token))).json()
    assert [t["label"] for t in listed] == ["ci bot", ""] and "token" not in listed[0]

    r = await client.delete(f"/api/v1/agents/{agent.id}/tokens/{issued['id']}", headers=auth(lead_token))
    assert r.status_code == 204
    assert (await client.get("/api/v1/queues", headers=auth(issued["token"]))).status_code == 401

    r = await client.post(
        f"/api/v1/agents/{agent.id}/password", json={"password": "a new secret"}, headers=auth(lead_token)
    )
    assert r.status_code == 204
    actions = [a for _, a, data in await _log(runtime, f"agent:{agent.id}")]
    assert actions == [
        "agent.added",
        "agent.token_issued",
        "agent.token_revoked",
        "agent.password_reset",
    ]
    assert issued["token"] not in str(await _log(runtime, f"agent:{agent.id}"))


async def test_two_adds_of_one_email_at_once_give_one_agent_and_a_conflict(runtime: Runtime) -> None:
    """Both check before either inserts: the unique key decides, and the loser gets a 409, not a 500."""
    async with runtime.app.sessionmaker() as first, runtime.app.sessionmaker() as second:
        await agents.add_agent(first, name="A", email="same@support.example", role="agent", tiers=[1])
        racing = asyncio.create_task(
            agents.add_agent(second, name="B", email="same@support.example", role="agent", tiers=[1])
        )
        await asyncio.sleep(0.3)  # the second is past its check, waiting on the first's row
        await first.commit()
        with pytest.raises(Conflict, match=r"same@support\.example exists"):
            await racing
