"""The report over HTTP (JSON, CSV, HTML page), who may see it, and the CLI writing its file."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from queues.runtime import Runtime
from queues.worker import drain
from router.settings import Settings
from tests.conftest import auth, make_agent, ticket_json
from tests.test_cli import tierroute

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


async def one_ticket(runtime: Runtime, client: httpx.AsyncClient) -> str:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    r = await client.post("/api/v1/tickets", json=ticket_json(), headers=auth(lead))
    assert r.status_code == 202
    await drain(runtime)
    return lead


async def test_leads_get_json_csv_and_html_agents_do_not(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead = await one_ticket(runtime, client)
    _, agent = await make_agent(runtime, role="agent", tiers=(1,))
    url = "/api/v1/reports/sla"
    assert (await client.get(url, headers=auth(agent))).status_code == 403
    assert (await client.get("/reports", headers=auth(agent))).status_code == 403
    assert (await client.get(url)).status_code == 401
    assert (
        await client.get(
            url, params={"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, headers=auth(lead)
        )
    ).status_code == 422

    data = (await client.get(url, headers=auth(lead))).json()
    assert data["totals"]["tickets_in"] == 1 and data["totals"]["first_response_open"] == 1
    assert [b["key"] for b in data["by_support_tier"]] == ["2"]  # a login problem: technical tier

    r = await client.get(url, params={"format": "csv"}, headers=auth(lead))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["section", "dimension", "key", "metric", "value"]
    assert ["tickets", "all", "all", "tickets_in", "1"] in rows
    assert ["tickets", "support_tier", "2", "first_response_open", "1"] in rows
    assert ["customer_tiers", "", "", "bottom_heavy", "False"] in rows

    for page in (
        await client.get(url, params={"format": "html"}, headers=auth(lead)),
        await client.get("/reports", headers=auth(lead)),
    ):
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        html = page.text
        assert html.count("<svg") == 8
        assert not EXTERNAL.search(html), EXTERNAL.search(html)
        assert "Escalation and SLA report" in html
        if page.url.path == "/reports":  # a page of the web UI (issue 17 item 11): its bar, own scripts only
            assert 'aria-label="Main"' in html and 'name="from" type="date"' in html
        else:  # the file: self-contained, nothing to load
            assert "<script" not in html.lower() and "<link" not in html.lower()


async def test_the_cli_writes_the_report_file(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    await one_ticket(runtime, client)
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    out = tmp_path / "report.json"
    done = tierroute(settings, "report", "sla", "--since", since, "--format", "json", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "1 tickets in" in done.stderr
    assert json.loads(out.read_text())["totals"]["tickets_in"] == 1
    html = tmp_path / "report.html"
    done = tierroute(settings, "report", "sla", "--since", since, "--out", str(html))
    assert done.returncode == 0, done.stderr
    assert html.read_text().count("<svg") == 8
    rebuilt = tierroute(settings, "report", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt the report facts of 1 tickets" in rebuilt.stderr


async def test_the_reports_page_takes_the_web_ui_session_of_a_lead(runtime: Runtime, client: httpx.AsyncClient) -> None:
    from tests.web.helpers import sign_in, web_agent

    await one_ticket(runtime, client)
    anonymous = await client.get("/reports", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/ui/login?next=%2Freports")
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(client, agent)
    assert (await client.get("/reports")).status_code == 403
    assert "/reports" not in (await client.get("/ui/")).text  # no Reports link for agents
    lead = await web_agent(runtime, role="lead", tiers=())
    await sign_in(client, lead)
    assert 'href="/reports"' in (await client.get("/ui/")).text
    page = await client.get("/reports")
    assert page.status_code == 200 and "Escalation and SLA report" in page.text
