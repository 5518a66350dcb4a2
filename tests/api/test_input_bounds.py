"""Hostile numbers, moments and characters in a request are a 4xx problem (issue 16 item 19), never a 500,
and the keep-alive connection they came on keeps serving: checked on the wire, against a live server, on
both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from queues.runtime import Runtime, open_app_context
from router.app import create_app
from router.models.tickets import Ticket
from router.settings import Settings
from tests.api.live import LiveServer
from tests.conftest import auth, free_port, make_agent, make_customer, ticket_json
from tests.web.helpers import sign_in, web_agent

TOO_BIG_ID = 2**31  # one past PostgreSQL's INTEGER
ID_PATHS = [
    ("GET", "/api/v1/tickets/{id}"),
    ("GET", "/api/v1/tickets/{id}/audit"),
    ("GET", "/api/v1/tickets/{id}/audit/verify"),
    ("GET", "/api/v1/tickets/{id}/webhooks"),
    ("POST", "/api/v1/tickets/{id}/escalate"),
    ("POST", "/api/v1/tickets/{id}/deescalate"),
    ("POST", "/api/v1/tickets/{id}/resolve"),
    ("POST", "/api/v1/tickets/{id}/reopen"),
    ("POST", "/api/v1/tickets/{id}/wait"),
    ("POST", "/api/v1/tickets/{id}/messages"),
]
BODIES: dict[str, dict[str, Any]] = {
    "escalate": {"reason": "needs engineering"},
    "deescalate": {"reason": "back to tier 1"},
    "messages": {"body": "hello"},
}
#: (method, URL, JSON body): each refused with a 4xx problem.
REFUSED: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/tickets?offset=9223372036854775808", None),  # SQLite: Python int too large
    ("GET", "/api/v1/tickets?offset=99999999999999999999", None),  # PostgreSQL: out of bigint
    ("GET", "/api/v1/tickets?offset=2147483648", None),
    ("GET", "/api/v1/queues/1?offset=9223372036854775807", None),  # Redis: ZRANGE end overflows
    *[
        (method, path.format(id=TOO_BIG_ID), BODIES.get(path.rsplit("/", 1)[1], {}) if method == "POST" else None)
        for method, path in ID_PATHS
    ],
    ("GET", "/api/v1/reports/sla?customer_id=2147483648", None),
    ("GET", "/api/v1/reports/sla?agent_id=2147483648", None),
    ("GET", "/reports?customer_id=2147483648", None),
    ("GET", "/api/v1/reports/sla?until=9999-12-31T23:59:59Z", None),
    ("GET", "/api/v1/reports/sla?until=0001-01-02T00:00:00Z", None),  # the default since would be year 0
    ("GET", "/api/v1/reports/sla?since=0001-01-01T00:00:00%2B14:00", None),
    ("GET", "/api/v1/webhooks/deliveries?status=a%00b", None),
    ("POST", "/api/v1/rules/simulate", {"rulebook": "version: x", "since": "9999-12-31T23:59:59-12:00"}),
    *[("POST", "/api/v1/tickets", ticket_json(**{field: "\x00"})) for field in ("external_id", "customer_ref")],
    ("POST", "/api/v1/tickets", ticket_json(tags=["\x00"])),
]
#: String fields where a NUL is dropped, as it is from subject and body: accepted, stored without it.
CLEANED = ["external_id", "customer_ref", "product", "component", "service", "tags"]


@pytest.fixture(scope="module")
def server(database_url: str, redis_url: str, session_tmp: Path) -> Iterator[LiveServer]:
    live = LiveServer(
        Settings(database_url=database_url, redis_url=redis_url, data_dir=session_tmp / "live-server"), free_port()
    )
    live.start()
    yield live
    live.stop()


class Connections:
    """Counts the TCP connections a client opens (httpcore's trace hook)."""

    def __init__(self) -> None:
        self.opened = 0

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            self.opened += 1

    @property
    def extensions(self) -> dict[str, Any]:
        return {"trace": self}


async def _still_alive(client: httpx.AsyncClient, connections: Connections) -> None:
    after = await client.get("/healthz", extensions=connections.extensions)
    assert after.status_code == 200
    assert connections.opened == 1, "the server closed the keep-alive connection"


def _case_id(case: tuple[str, str, Any]) -> str:
    method, url, body = case
    return f"{method} {url}" + (f" {sorted(body)}" if body else "")


@pytest.mark.parametrize("case", REFUSED, ids=[_case_id(c) for c in REFUSED])
async def test_out_of_range_input_is_a_problem_and_the_connection_lives_on(
    case: tuple[str, str, dict[str, Any] | None], server: LiveServer, runtime: Runtime
) -> None:
    method, url, body = case
    _, lead = await make_agent(runtime, role="lead", tiers=())
    connections = Connections()
    async with httpx.AsyncClient(base_url=server.base_url, headers=auth(lead), timeout=30) as client:
        r = await client.request(method, url, json=body, extensions=connections.extensions)
        assert 400 <= r.status_code < 500, r.text
        assert r.status_code in (404, 422), r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == r.status_code
        await _still_alive(client, connections)


@pytest.mark.parametrize("field", CLEANED)
async def test_nul_in_a_string_field_is_dropped_as_in_subject_and_body(
    field: str, server: LiveServer, runtime: Runtime
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    customer = await make_customer(runtime, ref="network", tier=2, domain="network.example")
    value: Any = ["net\x00work"] if field == "tags" else "net\x00work"
    connections = Connections()
    async with httpx.AsyncClient(base_url=server.base_url, headers=auth(lead), timeout=30) as client:
        r = await client.post("/api/v1/tickets", json=ticket_json(**{field: value}), extensions=connections.extensions)
        assert r.status_code == 202, r.text
        await _still_alive(client, connections)
    async with runtime.app.sessionmaker() as s:
        ticket = (await s.exec(select(Ticket).where(Ticket.id == r.json()["id"]))).one()
    if field == "customer_ref":
        assert ticket.customer_id == customer.id
    elif field == "tags":  # the rulebook may add its own tags
        assert "network" in ticket.tags
    else:
        assert getattr(ticket, field) == "network"


async def test_ui_ticket_page_with_an_id_past_the_column_is_a_page_not_a_500(
    server: LiveServer, runtime: Runtime
) -> None:
    agent = await web_agent(runtime, role="lead", tiers=())
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        await sign_in(client, agent)  # opens the connection the requests below must keep using
        client_conns = Connections()
        r = await client.get(f"/ui/tickets/{TOO_BIG_ID}", extensions=client_conns.extensions)
        assert r.status_code in (404, 422)
        assert r.headers["content-type"].startswith("text/html")
        attachment = await client.get(f"/ui/tickets/1/attachments/{TOO_BIG_ID}", extensions=client_conns.extensions)
        assert attachment.status_code in (404, 422)
        after = await client.get("/healthz", extensions=client_conns.extensions)
        assert after.status_code == 200
        assert client_conns.opened == 0, "the server closed the keep-alive connection"


async def test_a_mail_quoting_a_reference_past_the_column_opens_a_ticket(server: LiveServer, runtime: Runtime) -> None:
    """``[T-999999999999]`` in a subject names no ticket there can be: a new ticket, not a 500."""
    _, lead = await make_agent(runtime, role="lead", tiers=())
    mail = (
        "From: Pat <pat@customer.example>\r\nTo: support@tierroute.example\r\n"
        "Subject: Re: [T-999999999999] still broken\r\nMessage-ID: <ref-overflow@customer.example>\r\n"
        "Date: Mon, 30 Nov 2026 09:00:00 +0000\r\n\r\nStill broken.\r\n"
    )
    connections = Connections()
    async with httpx.AsyncClient(base_url=server.base_url, headers=auth(lead), timeout=30) as client:
        r = await client.post(
            "/api/v1/intake/email",
            content=mail.encode(),
            headers={"Content-Type": "message/rfc822"},
            extensions=connections.extensions,
        )
        assert r.status_code == 202, r.text
        assert r.json()["outcome"] == "created"
        await _still_alive(client, connections)


async def test_an_unexpected_error_is_a_500_problem_and_the_connection_lives_on(
    database_url: str, redis_url: str, session_tmp: Path
) -> None:
    """Whatever still fails unexpectedly answers a problem and leaves the keep-alive connection open."""
    settings = Settings(database_url=database_url, redis_url=redis_url, data_dir=session_tmp / "live-boom")
    app = create_app(settings, open_app_context)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    live = LiveServer(settings, free_port(), app=app)
    live.start()
    try:
        connections = Connections()
        async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as client:
            r = await client.get("/boom", extensions=connections.extensions)
            assert r.status_code == 500
            assert r.headers["content-type"] == "application/problem+json"
            assert "a bug" not in r.text
            await _still_alive(client, connections)
    finally:
        live.stop()
