"""Outbound webhooks to a real HTTP server on loopback that verifies with the standardwebhooks library."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from queues.reconcile import reconcile
from queues.runtime import Runtime
from queues.worker import drain
from tests.conftest import auth, make_agent, ticket_json
from tests.webhooks.helpers import configure, new_secret, signed


@dataclass
class Receiver:
    """Answers 503 to the first ``fail_first`` requests per path (or always ``always``), then 200."""

    secrets: dict[str, str]
    fail_first: int = 0
    always: int | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["path"] == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(secrets={})
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"])).decode()
            headers = {k: v for k, v in self.headers.items()}
            try:
                Webhook(state.secrets[self.path]).verify(body, headers)
                verified = True
            except (WebhookVerificationError, KeyError):
                verified = False
            with lock:
                seen = len(state.on(self.path))
                state.received.append(
                    {"path": self.path, "headers": headers, "payload": json.loads(body), "verified": verified}
                )
            if state.always is not None:
                code = state.always
            else:
                code = 503 if seen < state.fail_first else (200 if verified else 401)
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"ok" if code == 200 else b"try later")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def setup(runtime: Runtime, receiver: Receiver, *, max_attempts: int = 6) -> tuple[str, str]:
    vendor_secret, sub_secret = new_secret(), new_secret()
    receiver.secrets = {"/vendor": vendor_secret, "/events": sub_secret}
    configure(
        runtime,
        f"""
vendors:
  sms-carrier:
    url: {receiver.url("/vendor")}
    secrets: [{vendor_secret}]
    max_attempts: {max_attempts}
subscriptions:
  chatops:
    url: {receiver.url("/events")}
    secrets: [{sub_secret}]
    max_attempts: {max_attempts}
    events: [ticket.created, ticket.escalated, ticket.resolved]
""",
    )
    runtime.app.settings.webhook_retry_base_seconds = 0.05
    return vendor_secret, sub_secret


SMS_FAULT = {"subject": "SMS delivery failing", "body": "Our SMS delivery failed since 10:00, carrier returns errors"}


async def test_vendor_handoff_retries_until_delivered_and_logs_every_attempt(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup(runtime, receiver)
    receiver.fail_first = 2
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = (await client.post("/api/v1/tickets", json=ticket_json(**SMS_FAULT), headers=auth(lead))).json()["id"]
    await drain(runtime)

    handoffs = receiver.on("/vendor")
    assert len(handoffs) == 3 and all(h["verified"] for h in handoffs)
    assert len({h["headers"]["webhook-id"] for h in handoffs}) == 1  # one message id across retries
    payload = handoffs[-1]["payload"]
    assert payload["type"] == "ticket.vendor_handoff"
    assert payload["data"]["ticket"]["id"] == tid and payload["data"]["vendor"] == "sms-carrier"
    assert payload["data"]["conversation"][0]["body"].startswith("Our SMS delivery failed")
    assert payload["data"]["callback"]["path"] == "/api/v1/intake/webhooks/sms-carrier"

    trail = (await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(lead))).json()
    vendor_events = [e["action"] for e in trail if e["action"].startswith("vendor_")]
    assert vendor_events == [
        "vendor_handoff",
        "vendor_delivery_attempt_failed",
        "vendor_delivery_attempt_failed",
        "vendor_delivered",
    ]
    assert "HTTP 503" in next(e for e in trail if e["action"] == "vendor_delivery_attempt_failed")["reason"]
    deliveries = (await client.get(f"/api/v1/tickets/{tid}/webhooks", headers=auth(lead))).json()
    vendor = next(d for d in deliveries if d["endpoint_kind"] == "vendor")
    assert vendor["status"] == "delivered" and vendor["attempts"] == 3 and vendor["last_status_code"] == 200
    # The chatops subscription heard of the ticket too (ticket.created), signed with its own secret.
    events = receiver.on("/events")
    assert [e["payload"]["type"] for e in events if e["verified"]][-1] == "ticket.created"
    assert (await client.get(f"/api/v1/tickets/{tid}/audit/verify", headers=auth(lead))).json()["valid"]


async def test_the_vendors_signed_callbacks_update_comment_on_and_resolve_the_ticket(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    vendor_secret, _ = setup(runtime, receiver)
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = (await client.post("/api/v1/tickets", json=ticket_json(**SMS_FAULT), headers=auth(lead))).json()["id"]
    other = (await client.post("/api/v1/tickets", json=ticket_json(), headers=auth(lead))).json()
    await drain(runtime)
    ref = receiver.on("/vendor")[0]["payload"]["data"]["ticket"]["ref"]
    url = "/api/v1/intake/webhooks/sms-carrier"

    async def call(payload: dict[str, Any]) -> httpx.Response:
        body, headers = signed(vendor_secret, payload)
        return await client.post(url, content=body, headers=headers)

    update = await call({"event": "update", "ticket_ref": ref, "status": "investigating", "vendor_ref": "CASE-42"})
    assert update.status_code == 202 and update.json()["outcome"] == "updated"
    comment = await call({"event": "comment", "ticket_ref": ref, "body": "Carrier routing fixed on our side."})
    assert comment.json()["outcome"] == "commented"
    close = await call({"event": "close", "ticket_ref": ref, "body": "Resolved by the carrier."})
    assert close.json()["outcome"] == "closed" and close.json()["ticket_id"] == tid
    # A vendor touches only the tickets handed to it, and may not reopen them.
    assert (await call({"event": "comment", "ticket_ref": other["ref"], "body": "x"})).status_code == 404
    assert (await call({"event": "reopen", "ticket_ref": ref})).status_code == 422

    ticket = (await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead))).json()
    assert ticket["status"] == "resolved"
    said = next(m for m in ticket["messages"] if m["body_text"] == "Carrier routing fixed on our side.")
    assert said["author"] == "vendor:sms-carrier" and said["kind"] == "vendor_comment"  # not the requester
    trail = (await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(lead))).json()
    updated = next(e for e in trail if e["action"] == "vendor_updated")
    assert updated["actor"] == "webhook:sms-carrier"
    assert updated["data"] == {"status": "investigating", "vendor_ref": "CASE-42"}
    # ticket.resolved reached the subscription.
    await drain(runtime)
    assert "ticket.resolved" in [e["payload"]["type"] for e in receiver.on("/events")]


async def test_an_escalation_into_tier_four_hands_off_to_the_default_vendor(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup(runtime, receiver)
    runtime.app.webhooks = type(runtime.app.webhooks)(
        runtime.app.webhooks.sources,
        runtime.app.webhooks.vendors,
        runtime.app.webhooks.subscriptions,
        default_vendor="sms-carrier",
    )
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = (await client.post("/api/v1/tickets", json=ticket_json(), headers=auth(lead))).json()["id"]
    await drain(runtime)
    assert receiver.on("/vendor") == []
    r = await client.post(
        f"/api/v1/tickets/{tid}/escalate", json={"reason": "vendor bug", "to_tier": 4}, headers=auth(lead)
    )
    assert r.status_code == 200
    await drain(runtime)
    [handoff] = receiver.on("/vendor")
    assert handoff["payload"]["data"]["ticket"]["support_tier"] == 4
    escalated = [e for e in receiver.on("/events") if e["payload"]["type"] == "ticket.escalated"]
    assert escalated[0]["payload"]["data"]["reason"] == "vendor bug" and escalated[0]["verified"]


async def test_a_vendor_that_never_answers_fails_visibly_after_its_attempts(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup(runtime, receiver, max_attempts=3)
    receiver.always = 500
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = (await client.post("/api/v1/tickets", json=ticket_json(**SMS_FAULT), headers=auth(lead))).json()["id"]
    await drain(runtime)
    assert len(receiver.on("/vendor")) == 3
    trail = [e["action"] for e in (await client.get(f"/api/v1/tickets/{tid}/audit", headers=auth(lead))).json()]
    assert trail.count("vendor_delivery_attempt_failed") == 2 and trail.count("vendor_delivery_failed") == 1
    failed = (await client.get("/api/v1/webhooks/deliveries?status=failed", headers=auth(lead))).json()
    assert {d["endpoint"]: d["attempts"] for d in failed} == {"sms-carrier": 3, "chatops": 3}


async def test_events_lost_with_redis_are_published_after_reconcile(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    setup(runtime, receiver)
    _, lead = await make_agent(runtime, role="lead", tiers=())
    await client.post("/api/v1/tickets", json=ticket_json(**SMS_FAULT), headers=auth(lead))
    await runtime.pool.flushdb()  # the routing and publish jobs are gone
    await reconcile(runtime.app, runtime.pool)
    await drain(runtime)
    assert [h["verified"] for h in receiver.on("/vendor")] == [True]
    assert [e["payload"]["type"] for e in receiver.on("/events")] == ["ticket.created"]
    await reconcile(runtime.app, runtime.pool)  # nothing left to publish: no second delivery
    await drain(runtime)
    assert len(receiver.on("/vendor")) == 1 and len(receiver.on("/events")) == 1


async def test_no_subscription_means_no_publish_job(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    await client.post("/api/v1/tickets", json=ticket_json(**SMS_FAULT), headers=auth(lead))
    assert await runtime.pool.zcard("tierroute:arq:webhooks") == 0


async def test_a_vendor_loses_access_when_the_ticket_leaves_tier_four(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    vendor_secret, _ = setup(runtime, receiver)
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = (await client.post("/api/v1/tickets", json=ticket_json(**SMS_FAULT), headers=auth(lead))).json()["id"]
    await drain(runtime)
    ref = receiver.on("/vendor")[0]["payload"]["data"]["ticket"]["ref"]
    back = await client.post(f"/api/v1/tickets/{tid}/deescalate", json={"reason": "ours after all"}, headers=auth(lead))
    assert back.status_code == 200
    body, headers = signed(vendor_secret, {"event": "close", "ticket_ref": ref})
    assert (await client.post("/api/v1/intake/webhooks/sms-carrier", content=body, headers=headers)).status_code == 404
    assert (await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead))).json()["status"] == "queued"


async def test_a_rule_naming_an_unconfigured_vendor_never_falls_back_to_the_default(
    runtime: Runtime, client: httpx.AsyncClient, receiver: Receiver
) -> None:
    secret = new_secret()
    receiver.secrets = {"/psp?token=s3cret": secret}
    runtime.app.settings.webhook_retry_base_seconds = 0.05
    configure(
        runtime,
        f"vendors:\n  payments-psp:\n    url: {receiver.url('/psp')}?token=s3cret\n    secrets: [{secret}]\n"
        "default_vendor: payments-psp\n",
    )
    _, lead = await make_agent(runtime, role="lead", tiers=())
    sms = (await client.post("/api/v1/tickets", json=ticket_json(**SMS_FAULT), headers=auth(lead))).json()["id"]
    await drain(runtime)
    assert receiver.on("/psp?token=s3cret") == []  # the rule named sms-carrier, which is not configured
    trail = (await client.get(f"/api/v1/tickets/{sms}/audit", headers=auth(lead))).json()
    skipped = next(e for e in trail if e["action"] == "vendor_handoff_skipped")
    assert "sms-carrier" in skipped["reason"]
    other = (await client.post("/api/v1/tickets", json=ticket_json(), headers=auth(lead))).json()["id"]
    await drain(runtime)
    await client.post(f"/api/v1/tickets/{other}/escalate", json={"reason": "psp", "to_tier": 4}, headers=auth(lead))
    await drain(runtime)
    assert [r["verified"] for r in receiver.received] == [True]  # no rule named a vendor: the default one
    [delivery] = (await client.get(f"/api/v1/tickets/{other}/webhooks", headers=auth(lead))).json()
    assert delivery["url"] == receiver.url("/psp")  # the token in the query is not shown
