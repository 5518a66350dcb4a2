"""A small, fully known history built through the real services under a frozen clock.

Timeline (UTC; Berlin is UTC+1, New York UTC-5; T0 is Tuesday 2026-11-24 09:00 = 10:00 in Berlin):

* A (Globex, value tier 2, policy ``office``: Berlin hours, 2 h / 8 h) — replied at T0+30m, resolved
  T0+1h, reopened T0+2h, resolved again T0+3h.
* B (Globex, tier 2, ``office``) — first response breached at T0+2h (priority raised), resolution breached
  Wednesday 09:00; replied Wednesday 09:00 (T1), resolved T1+1h.
* C (Initech, tier 3, ``chain``: 24x7, 10 m / 1 h, escalate on breach, restart) — SLA escalation 1→2 at
  T0+11m, claimed and replied T0+15m, agent escalation 2→3 T0+20m, lead de-escalation 3→2 T0+30m,
  resolved T0+40m.
* D (Umbrella, tier 1, ``ny-office``: New York hours, 4 h / 8 h) — escalated 1→4 by the lead at T0+1h,
  handed to the vendor (delivered at once), vendor update at T0+3h; still open, both clocks breached at T1.
* E (Hooli, tier 4, ``office``) — created T1+1h, untouched (open clocks).

The report is read at T1+1h30m (Wednesday 10:30) over Tuesday 00:00 to Thursday 00:00.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine

from queues.runtime import Runtime
from queues.worker import drain
from router.settings import Settings
from tests.conftest import auth, make_agent, make_customer
from tests.sla.conftest import _runtime, fire_timers, routed
from tests.webhooks.helpers import configure, new_secret, signed

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)
NOW = T1 + timedelta(hours=1, minutes=30)
SINCE = datetime(2026, 11, 24, tzinfo=UTC)
UNTIL = datetime(2026, 11, 26, tzinfo=UTC)


@dataclass
class History:
    rt: Runtime
    client: httpx.AsyncClient
    lead: str
    agent: str
    agent_id: int
    tickets: dict[str, int]
    customers: dict[str, int]


@pytest.fixture
def vendor_url() -> Iterator[str]:
    """A vendor endpoint on loopback that accepts every handoff."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/vendor"
    server.shutdown()
    server.server_close()


@pytest.fixture
async def history(settings: Settings, tmp_path: Path, vendor_url: str) -> AsyncIterator[History]:
    async with _runtime(settings, tmp_path, {}) as (rt, client):
        secret = new_secret()
        configure(
            rt, f"vendors:\n  acme-telco:\n    url: {vendor_url}\n    secrets: [{secret}]\ndefault_vendor: acme-telco\n"
        )
        with time_machine.travel(T0, tick=False) as clock:
            yield await _build(rt, client, clock, secret)


async def _build(rt: Runtime, client: httpx.AsyncClient, clock: Any, vendor_secret: str) -> History:
    _, lead = await make_agent(rt, role="lead", tiers=(), email="lead@support.example")
    agent, token = await make_agent(rt, role="agent", tiers=(1, 2, 3), email="agent@support.example")
    assert agent.id is not None
    customers = {}
    for ref, tier, domain in [
        ("umbrella", 1, "umbrella.example"),
        ("globex", 2, "globex.example"),
        ("initech", 3, "initech.example"),
        ("vandelay", 3, "vandelay.example"),
        ("hooli", 4, "hooli.example"),
        ("pied-piper", 4, "piedpiper.example"),
    ]:
        c = await make_customer(rt, ref=ref, tier=tier, domain=domain)
        assert c.id is not None
        customers[ref] = c.id
    h = History(rt, client, lead, token, agent.id, {}, customers)
    for name, email in [("A", "ann@globex.example"), ("B", "bob@globex.example"), ("C", "cy@initech.example")]:
        h.tickets[name] = await routed(rt, client, lead, requester_email=email)
    h.tickets["D"] = await routed(rt, client, lead, requester_email="dee@umbrella.example")

    async def act(who: str, name: str, verb: str, body: dict[str, Any] | None = None) -> None:
        r = await client.post(f"/api/v1/tickets/{h.tickets[name]}/{verb}", json=body or {}, headers=auth(who))
        assert r.status_code in (200, 201), r.text
        await drain(rt)

    async def reply(name: str) -> None:
        await act(token, name, "messages", {"body": "We are on it.", "internal": False})

    async def at(moment: datetime) -> None:
        clock.move_to(moment)
        await fire_timers(rt)

    await at(T0 + timedelta(minutes=11))  # C: first response breached, escalated 1 -> 2 by the SLA
    await at(T0 + timedelta(minutes=15))
    claimed = await client.post("/api/v1/queues/2/claim", headers=auth(token))
    assert claimed.json()["id"] == h.tickets["C"]
    await reply("C")
    await at(T0 + timedelta(minutes=20))
    await act(token, "C", "escalate", {"reason": "needs an engineer"})
    await at(T0 + timedelta(minutes=30))
    await reply("A")
    await act(lead, "C", "deescalate", {"reason": "config question after all"})
    await at(T0 + timedelta(minutes=40))
    await act(token, "C", "resolve", {"resolution": "fixed"})
    await at(T0 + timedelta(hours=1))
    await act(token, "A", "resolve", {"resolution": "sent"})
    await act(lead, "D", "escalate", {"reason": "carrier fault", "to_tier": 4})
    await at(T0 + timedelta(hours=2))  # B: first response breached (2 business hours)
    await act(token, "A", "reopen", {"reason": "wrong invoice"})
    await at(T0 + timedelta(hours=3))
    await act(token, "A", "resolve", {"resolution": "right one sent"})
    ref = (await client.get(f"/api/v1/tickets/{h.tickets['D']}", headers=auth(lead))).json()["ref"]
    body, headers = signed(vendor_secret, {"event": "update", "ticket_ref": ref, "status": "investigating"})
    r = await client.post("/api/v1/intake/webhooks/acme-telco", content=body, headers=headers)
    assert r.status_code == 202, r.text
    await drain(rt)
    await at(T1)  # B: resolution breached; D: both clocks breached overnight
    await reply("B")
    await at(T1 + timedelta(hours=1))
    await act(token, "B", "resolve", {"resolution": "done"})
    h.tickets["E"] = await routed(rt, client, lead, requester_email="eve@hooli.example")
    await at(NOW)
    return h
