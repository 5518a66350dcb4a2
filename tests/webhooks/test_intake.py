"""Signed webhook intake: verification with the standardwebhooks library, idempotency, mappings, limits."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from queues.runtime import Runtime
from queues.worker import drain
from router.models.intake import Delivery
from router.models.tickets import Ticket
from tests.conftest import auth, make_agent
from tests.webhooks.helpers import MONITORING, alert, configure, new_secret, signed

URL = "/api/v1/intake/webhooks/monitoring"


@pytest.fixture
def secret(runtime: Runtime) -> str:
    value = new_secret()
    configure(runtime, MONITORING.format(secret=value, limit=1000))
    return value


async def counts(runtime: Runtime) -> tuple[int, int]:
    async with runtime.app.sessionmaker() as s:
        tickets = (await s.exec(select(func.count()).select_from(Ticket))).one()
        deliveries = (await s.exec(select(func.count()).select_from(Delivery))).one()
    return int(tickets), int(deliveries)


async def post(client: httpx.AsyncClient, secret: str, payload: Any, url: str = URL, **kw: Any) -> httpx.Response:
    body, headers = signed(secret, payload, **kw)
    return await client.post(url, content=body, headers=headers)


async def test_a_signed_alert_opens_a_routed_ticket(runtime: Runtime, client: httpx.AsyncClient, secret: str) -> None:
    r = await post(client, secret, alert())
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["outcome"] == "created" and body["duplicate"] is False
    await drain(runtime)
    _, lead = await make_agent(runtime, role="lead", tiers=())
    ticket = (await client.get(f"/api/v1/tickets/{body['ticket_id']}", headers=auth(lead))).json()
    assert ticket["subject"] == "[critical] DiskFull on db-1"
    assert ticket["channel"] == "monitoring" and ticket["service"] == "api"
    # The mapped hint is "urgent"; for an unknown (break-even) sender the rulebook makes that "high".
    assert ticket["priority"] == "high" and ticket["status"] == "queued"
    assert "urgent-hint-low-value" in [m["rule_id"] for m in ticket["decision"]["matched"]]
    assert "alert" in ticket["tags"] and "monitoring" in ticket["tags"]  # the rulebook's monitoring rule saw it
    assert ticket["messages"][0]["body_text"].startswith("Disk usage above 95%")


@pytest.mark.parametrize(
    "tamper",
    ["body", "wrong-secret", "stale", "future", "no-signature", "malformed", "not-utf8"],
)
async def test_bad_signatures_are_401_and_store_nothing(
    runtime: Runtime, client: httpx.AsyncClient, secret: str, tamper: str
) -> None:
    payload = alert()
    now = datetime.now(UTC)
    if tamper == "wrong-secret":
        body, headers = signed(new_secret(), payload)
    elif tamper == "stale":
        body, headers = signed(secret, payload, at=now - timedelta(minutes=6))
    elif tamper == "future":
        body, headers = signed(secret, payload, at=now + timedelta(minutes=6))
    else:
        body, headers = signed(secret, payload)
    content: bytes = body.encode()
    if tamper == "body":
        content = content.replace(b"db-1", b"db-2")
    elif tamper == "no-signature":
        del headers["webhook-signature"]
    elif tamper == "malformed":
        headers["webhook-signature"] = "v1"
    elif tamper == "not-utf8":
        content = b"\xff\xfe" + content
    r = await client.post(URL, content=content, headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    if tamper in ("stale", "future"):
        assert "timestamp" in r.json()["detail"]
    assert await counts(runtime) == (0, 0)


async def test_timestamps_within_five_minutes_are_accepted(
    runtime: Runtime, client: httpx.AsyncClient, secret: str
) -> None:
    now = datetime.now(UTC)
    for i, skew in enumerate((-4, 4)):
        r = await post(client, secret, alert(key=f"k{i}"), at=now + timedelta(minutes=skew))
        assert r.status_code == 202, r.text


async def test_rotated_secrets_both_verify(runtime: Runtime, client: httpx.AsyncClient) -> None:
    old, new = new_secret(), new_secret()
    configure(runtime, MONITORING.format(secret=f"{new}, {old}", limit=1000))
    assert (await post(client, old, alert(key="a"))).status_code == 202
    assert (await post(client, new, alert(key="b"))).status_code == 202
    assert (await post(client, new_secret(), alert(key="c"))).status_code == 401


async def test_100_concurrent_copies_make_exactly_one_ticket(
    runtime: Runtime, client: httpx.AsyncClient, secret: str
) -> None:
    body, headers = signed(secret, alert())
    responses = await asyncio.gather(*(client.post(URL, content=body, headers=headers) for _ in range(100)))
    assert {r.status_code for r in responses} == {202}, {r.text for r in responses if r.status_code != 202}
    assert len({r.json()["ticket_id"] for r in responses}) == 1
    assert sum(not r.json()["duplicate"] for r in responses) == 1
    assert await counts(runtime) == (1, 1)


async def test_a_redelivery_answers_the_same_and_changes_nothing(
    runtime: Runtime, client: httpx.AsyncClient, secret: str
) -> None:
    first = await post(client, secret, alert(), msg_id="msg_same")
    closed = await post(client, secret, alert(status="resolved"), msg_id="msg_close")
    again = await post(client, secret, alert(), msg_id="msg_same")
    assert first.json()["outcome"] == "created" and closed.json()["outcome"] == "closed"
    assert again.json() == {**first.json(), "duplicate": True}
    assert await counts(runtime) == (1, 2)


async def test_events_comment_close_and_reopen_by_external_id(
    runtime: Runtime, client: httpx.AsyncClient, secret: str
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    created = (await post(client, secret, alert())).json()
    await drain(runtime)
    repeat = (await post(client, secret, alert())).json()  # the alert fires again: same ticket
    assert repeat["outcome"] == "commented" and repeat["ticket_id"] == created["ticket_id"]
    closed = (await post(client, secret, alert(status="resolved"))).json()
    assert closed["outcome"] == "closed"
    twice = (await post(client, secret, alert(status="resolved"))).json()
    assert twice["outcome"] == "unchanged"
    tid = created["ticket_id"]
    assert (await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead))).json()["status"] == "resolved"
    form = {"event": "reopen", "external_id": "disk-full/db-1"}
    # The generic event field is read where the monitoring mapping has none: reopen by external id.
    configure(
        runtime,
        MONITORING.format(secret=secret, limit=1000).replace(
            "event: {path: status, map: {firing: create, resolved: close}}",
            "event: {path: status, map: {firing: create, resolved: close, reopened: reopen}}",
        ),
    )
    reopened = (await post(client, secret, {**alert(), "status": "reopened", **form})).json()
    assert reopened["outcome"] == "reopened" and reopened["ticket_id"] == tid
    actions = [e["action"] for e in (await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(lead))).json()]
    assert actions.count("customer_replied") == 1 and "resolved" in actions and actions[-1] == "reopened"
    resolved = next(
        e
        for e in (await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(lead))).json()
        if e["action"] == "resolved"
    )
    assert resolved["actor"] == "webhook:monitoring"


async def test_a_close_for_an_unknown_external_id_is_404(
    runtime: Runtime, client: httpx.AsyncClient, secret: str
) -> None:
    r = await post(client, secret, alert(status="resolved", key="never-seen"))
    assert r.status_code == 404 and "never-seen" in r.json()["detail"]
    assert await counts(runtime) == (0, 0)


async def test_the_web_form_mapping(runtime: Runtime, client: httpx.AsyncClient, secret: str) -> None:
    form = {"form": {"topic": "Invoice wrong", "message": "We were charged twice.", "email": "ann@shop.example"}}
    r = await post(client, secret, form, url="/api/v1/intake/webhooks/webform")
    assert r.status_code == 202 and r.json()["outcome"] == "created"


@pytest.mark.parametrize(
    ("payload", "field", "path"),
    [
        ({"form": {"message": "m", "email": "a@b.example"}}, "subject", "form.topic"),
        ({"form": {"topic": "t", "message": "m"}}, "requester", "form.email"),
        ({"form": {"topic": "t", "message": "m", "email": "not an address"}}, "requester", "form.email"),
    ],
)
async def test_a_payload_lacking_a_mapped_field_is_422_naming_the_path(
    runtime: Runtime, client: httpx.AsyncClient, secret: str, payload: dict[str, Any], field: str, path: str
) -> None:
    r = await post(client, secret, payload, url="/api/v1/intake/webhooks/webform")
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    detail = r.json()["detail"]
    assert field in detail and path in detail
    assert await counts(runtime) == (0, 0)


async def test_template_fields_missing_in_the_payload_are_422(
    runtime: Runtime, client: httpx.AsyncClient, secret: str
) -> None:
    r = await post(client, secret, {"status": "firing", "groupKey": "x"})
    assert r.status_code == 422 and "subject" in r.json()["detail"] and "commonLabels" in r.json()["detail"]


async def test_unknown_source_content_type_size_and_json(
    runtime: Runtime, client: httpx.AsyncClient, secret: str
) -> None:
    body, headers = signed(secret, alert())
    assert (await client.post("/api/v1/intake/webhooks/nope", content=body, headers=headers)).status_code == 404
    form_headers = {**headers, "content-type": "application/x-www-form-urlencoded"}
    assert (await client.post(URL, content=body, headers=form_headers)).status_code == 415
    huge, huge_headers = signed(secret, None, body='{"x": "' + "a" * (1024 * 1024 + 10) + '"}')
    assert (await client.post(URL, content=huge, headers=huge_headers)).status_code == 413
    broken, broken_headers = signed(secret, None, body="{not json")
    r = await client.post(URL, content=broken, headers=broken_headers)
    assert r.status_code == 422 and "JSON" in r.json()["detail"]
    assert await counts(runtime) == (0, 0)


async def test_the_per_source_rate_limit_answers_429_with_retry_after(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    secret = new_secret()
    configure(runtime, MONITORING.format(secret=secret, limit=3))
    codes = [(await post(client, secret, alert(key=f"k{i}"))).status_code for i in range(5)]
    assert codes == [202, 202, 202, 429, 429]
    r = await post(client, secret, alert(key="k9"))
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
    assert r.headers["content-type"] == "application/problem+json"
    form = {"form": {"topic": "t", "message": "m", "email": "a@b.example"}}
    assert (await post(client, secret, form, url="/api/v1/intake/webhooks/webform")).status_code == 202


async def test_database_down_is_503_with_retry_after_and_nothing_acknowledged(
    runtime: Runtime, client: httpx.AsyncClient, secret: str
) -> None:
    from dataclasses import replace

    from router.app import create_app
    from router.db import make_engine, make_sessionmaker
    from tests.conftest import free_port

    dead = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")
    app = create_app(runtime.app.settings, lambda _s: None)  # type: ignore[arg-type,return-value]
    app.state.ctx = replace(runtime.app, engine=dead, sessionmaker=make_sessionmaker(dead))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as down:
            r = await post(down, secret, alert())
            assert r.status_code == 503 and r.headers["retry-after"] == "5"
    finally:
        await dead.dispose()
    assert await counts(runtime) == (0, 0)


@pytest.mark.parametrize(
    "payload",
    [
        {"subject": "s", "body": "b", "requester_email": "a@b.example", "external_id": "e\u0000x"},
        {"subject": "s", "body": "b", "requester_email": "a@b.example", "tags": ["a\u0000"]},
        {"subject": "s", "body": "b", "requester_email": "a@b.example", "tags": 5},
        {"subject": "s", "body": "b", "requester_email": "a@b.example", "tags": ["x" * 51]},
        {"subject": "s", "body": "b", "requester_email": "a@b.example", "service": {"nested": 1}},
        {"event": "comment", "external_id": "e1", "body": "hi\u0000"},
        {"event": "close", "ticket_ref": "T\u0000"},
        {"event": "explode"},
    ],
)
async def test_hostile_values_are_4xx_never_5xx_and_store_nothing(
    runtime: Runtime, client: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    secret = new_secret()
    configure(runtime, f"sources:\n  generic: {{secrets: [{secret}]}}\n")
    r = await post(client, secret, payload, url="/api/v1/intake/webhooks/generic")
    if r.status_code == 202:  # NUL characters are dropped, as by the JSON API; nothing else gets through
        assert "\\u0000" in json.dumps(payload) and await counts(runtime) == (1, 1)
        async with runtime.app.sessionmaker() as s:
            ticket = (await s.exec(select(Ticket))).one()
        assert "\x00" not in (ticket.external_id or "") and all("\x00" not in t for t in ticket.tags)
        return
    assert r.status_code in (404, 422), r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert await counts(runtime) == (0, 0)


async def test_mapping_evaluation_errors_are_422(runtime: Runtime, client: httpx.AsyncClient) -> None:
    secret = new_secret()
    configure(
        runtime,
        f"""
sources:
  calc:
    secrets: [{secret}]
    mapping:
      subject: {{template: "load {{{{ used / total }}}}"}}
      body: "join(', ', names)"
      requester: {{value: a@b.example}}
""",
    )
    r = await post(client, secret, {"used": 1, "total": 0, "names": ["a"]}, url="/api/v1/intake/webhooks/calc")
    assert r.status_code == 422 and "subject" in r.json()["detail"]
    r = await post(client, secret, {"used": 1, "total": 2, "names": [1, 2]}, url="/api/v1/intake/webhooks/calc")
    assert r.status_code == 422 and "body" in r.json()["detail"]
    assert await counts(runtime) == (0, 0)


async def test_concurrent_alerts_with_one_external_id_open_one_ticket(
    runtime: Runtime, client: httpx.AsyncClient, secret: str
) -> None:
    """Different webhook-ids (an HA pair of senders) for the same alert group: one ticket, the rest comment."""
    copies = [signed(secret, alert()) for _ in range(10)]
    responses = await asyncio.gather(*(client.post(URL, content=b, headers=h) for b, h in copies))
    assert {r.status_code for r in responses} == {202}
    assert sorted(r.json()["outcome"] for r in responses) == ["commented"] * 9 + ["created"]
    assert await counts(runtime) == (1, 10)
