"""Rulebook in the running system: routing on context, hot reload, simulation over stored tickets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from queues.runtime import Runtime
from queues.worker import drain
from router.routing.rulebook import RulebookProvider
from tests.conftest import auth, make_agent, make_customer, open_unrouted, ticket_json

ROOT = Path(__file__).resolve().parents[2]


async def test_routing_uses_context_and_stores_the_whole_decision(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await make_customer(runtime, ref="globex", tier=1, domain="globex.example")
    _, lead = await make_agent(runtime, role="lead", tiers=())
    r = await client.post(
        "/api/v1/tickets",
        json=ticket_json(
            subject="Something is off",
            body="details",
            requester_email="a@globex.example",
            service="checkout",
            tags=["beta"],
        ),
        headers=auth(lead),
    )
    await drain(runtime)
    ticket = (await client.get(f"/api/v1/tickets/{r.json()['id']}", headers=auth(lead))).json()
    assert (ticket["support_tier"], ticket["priority"], ticket["severity"]) == (2, "high", "major")
    assert ticket["service"] == "checkout"
    assert ticket["tags"] == ["beta", "critical-service"]
    assert [m["rule_id"] for m in ticket["decision"]["matched"]] == ["critical-service"]
    assert ticket["decision"]["matched"][0]["saw"] == {"service.criticality": 1}
    assert ticket["decision"]["adjustments"] == []


async def test_rules_endpoint_shows_the_rulebook_in_force(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, agent = await make_agent(runtime)
    body = (await client.get("/api/v1/rules", headers=auth(agent))).json()
    assert body["version"] == runtime.app.rulebook.current().version
    assert body["refused_change"] is None
    assert "outage" in [r["id"] for r in body["rules"]]


def test_hot_reload_takes_a_valid_change_and_refuses_an_invalid_one(tmp_path: Path) -> None:
    path = tmp_path / "book.yaml"
    path.write_text("rules:\n  - {id: a, when: {field: text, keywords_any: [x]}, then: {support_tier: 2}}\n")
    provider = RulebookProvider(path, check_every=0)
    first = provider.current()
    path.write_text("rules:\n  - {id: b, when: {field: text, keywords_any: [y]}, then: {support_tier: 3}}\n")
    second = provider.current()
    assert second.version != first.version and [r.id for r in second.rules] == ["b"]
    path.write_text("rules:\n  - {id: c, when: {field: nope, equals: 1}, then: {support_tier: 3}}\n")
    assert provider.current() is second  # the old one stays
    assert provider.error is not None and "unknown field 'nope'" in provider.error
    path.write_text("rules: []\n")
    assert provider.current().rules == () and provider.error is None


async def test_readyz_reports_a_refused_rulebook_change(
    runtime: Runtime, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    path = tmp_path / "book.yaml"
    path.write_text((ROOT / "rules" / "default.yaml").read_text())
    runtime.app.rulebook = RulebookProvider(path, check_every=0)
    path.write_text("rules: [\n")
    ready = (await client.get("/readyz")).json()
    assert ready["ready"] is True
    assert "not valid YAML" in ready["checks"]["rulebook"]["refused_change"]


CANDIDATE = (
    (ROOT / "rules" / "default.yaml")
    .read_text()
    .replace(
        "    then: {support_tier: 1, queue_group: billing, tags: [billing]}",
        "    then: {support_tier: 2, priority: high, queue_group: billing, tags: [billing]}",
    )
)


async def test_simulation_counts_what_a_candidate_would_change(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    _, agent = await make_agent(runtime)
    subjects = ["Invoice wrong", "Refund please", "Account settings", "How do I export?"]
    await asyncio.gather(
        *(
            client.post("/api/v1/tickets", json=ticket_json(subject=s, body="details"), headers=auth(lead))
            for s in subjects
        )
    )
    await drain(runtime)
    unrouted_id = await open_unrouted(runtime, subject="Invoice", body="x")
    forbidden = await client.post("/api/v1/rules/simulate", json={"rulebook": CANDIDATE}, headers=auth(agent))
    assert forbidden.status_code == 403
    r = await client.post("/api/v1/rules/simulate", json={"rulebook": CANDIDATE}, headers=auth(lead))
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["tickets"], report["skipped_unrouted"]) == (5, 1)
    assert (report["changed"], report["changed_tier"], report["changed_priority"]) == (2, 2, 2)
    assert report["tier_moves"] == [{"from_tier": 1, "to_tier": 2, "tickets": 2}]
    assert {d["ref"] for d in report["differences"]} == {
        t["ref"]
        for t in (await client.get("/api/v1/tickets?limit=10", headers=auth(lead))).json()["items"]
        if t["subject"] in ("Invoice wrong", "Refund please")
    }
    assert unrouted_id not in [d["ticket_id"] for d in report["differences"]]
    # Nothing changed in the database.
    again = await client.get(f"/api/v1/tickets/{report['differences'][0]['ticket_id']}", headers=auth(lead))
    assert again.json()["support_tier"] == 1


async def test_simulation_refuses_a_broken_candidate_with_locations(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    r = await client.post(
        "/api/v1/rules/simulate",
        json={"rulebook": "rules:\n  - {id: a, when: {field: nope, equals: 1}, then: {support_tier: 9}}\n"},
        headers=auth(lead),
    )
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert (problems[0]["line"], problems[0]["message"].split(";")[0]) == (2, "unknown field 'nope'")
    assert len(problems) == 2


@pytest.mark.parametrize("since", ["2999-01-01T00:00:00Z"])
async def test_simulation_since_limits_the_replay(runtime: Runtime, client: httpx.AsyncClient, since: str) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    await client.post("/api/v1/tickets", json=ticket_json(subject="Invoice"), headers=auth(lead))
    await drain(runtime)
    r = await client.post("/api/v1/rules/simulate", json={"rulebook": CANDIDATE, "since": since}, headers=auth(lead))
    assert r.json()["tickets"] == 0
