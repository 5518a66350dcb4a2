"""Take docs/screenshots/reports.png: the /reports page over two weeks of demo-like history.

The history goes through the real application (HTTP API over ASGI, arq workers drained in process, SLA
timers fired) under time-machine, on a throw-away SQLite database and an embedded Redis. The page is
fetched from ``/reports`` with the lead's bearer token and shown by Debian's headless Chromium through
Playwright (which only drives the system browser; ``playwright install`` is never run).

    .venv/bin/python docs/make_report_screenshot.py
"""

from __future__ import annotations

import asyncio
import random
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import time_machine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from queues.runtime import Runtime, open_runtime  # noqa: E402
from queues.sla_timers import tick  # noqa: E402
from queues.worker import drain  # noqa: E402
from router.agents import service as agents  # noqa: E402
from router.app import create_app  # noqa: E402
from router.customers import service as customers  # noqa: E402
from router.demo import CUSTOMERS, PEOPLE, SUBJECTS  # noqa: E402
from router.settings import Settings  # noqa: E402
from router.unit_of_work import commit  # noqa: E402

OUT = REPO / "docs" / "screenshots" / "reports.png"
START = datetime(2026, 11, 9, 8, 0, tzinfo=UTC)  # a Monday
DAYS = 14


async def setup(rt: Runtime) -> str:
    async with rt.app.sessionmaker() as s:
        for ref, name, tier, domain, attributes in CUSTOMERS:
            await customers.create_customer(
                s, external_ref=ref, name=name, tier=tier, domains=[domain], attributes=attributes
            )
        lead = await agents.add_agent(s, name="Lena Lead", email="lena@support.example", role="lead", tiers=())
        token = await agents.issue_token(s, lead)
        await commit(s, rt.app.effects)
    return token


async def history(rt: Runtime, client: httpx.AsyncClient, token: str, clock: time_machine.Coordinates) -> None:
    rnd = random.Random(7)
    headers = {"Authorization": f"Bearer {token}"}
    open_ids: list[int] = []

    async def act(tid: int, verb: str, body: dict[str, object]) -> int:
        r = await client.post(f"/api/v1/tickets/{tid}/{verb}", json=body, headers=headers)
        return r.status_code

    for day in range(DAYS):
        morning = START + timedelta(days=day)
        clock.move_to(morning)
        for _ in range(rnd.randint(4, 9) if morning.weekday() >= 5 else rnd.randint(12, 22)):
            subject, body, hint = rnd.choice(SUBJECTS)
            domain = rnd.choice(CUSTOMERS)[3]
            payload: dict[str, object] = {
                "subject": subject,
                "body": body,
                "requester_email": f"{rnd.choice(PEOPLE)}@{domain}",
            }
            if hint:
                payload["priority"] = hint
            r = await client.post("/api/v1/tickets", json=payload, headers=headers)
            open_ids.append(int(r.json()["id"]))
        await drain(rt)
        for hours in (1, 2, 4, 7, 10):
            clock.move_to(morning + timedelta(hours=hours, minutes=rnd.randint(0, 50)))
            await tick(rt.pool)
            await drain(rt)
            for tid in list(open_ids):
                roll = rnd.random()
                if roll < 0.18:
                    await act(tid, "messages", {"body": "Looking into it.", "internal": False})
                elif roll < 0.24:
                    await act(tid, "escalate", {"reason": "needs the next tier"})
                elif roll < 0.25:
                    await act(tid, "deescalate", {"reason": "back to the previous tier"})
                elif roll < 0.40 and await act(tid, "resolve", {"resolution": "done"}) == 200:
                    open_ids.remove(tid)
                    if rnd.random() < 0.06:
                        await act(tid, "reopen", {"reason": "still broken"})
                        open_ids.append(tid)
            await drain(rt)


async def page_html(tmp: Path) -> str:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp / 'demo.db'}", redis_url=None, data_dir=tmp)
    async with open_runtime(settings) as rt:
        app = create_app(settings, lambda _s: None)  # type: ignore[arg-type,return-value]
        app.state.ctx = rt.app
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tierroute.local") as c:
            with time_machine.travel(START, tick=False) as clock:
                token = await setup(rt)
                await history(rt, c, token, clock)
                end = START + timedelta(days=DAYS)
                clock.move_to(end)
                r = await c.get(
                    "/reports",
                    params={"since": (START - timedelta(hours=8)).isoformat(), "until": end.isoformat()},
                    headers={"Authorization": f"Bearer {token}"},
                )
                r.raise_for_status()
                return r.text


def screenshot(html: str) -> None:
    from playwright.sync_api import Route, sync_playwright

    browser_path = shutil.which("chromium")
    if browser_path is None:
        raise SystemExit("Debian's chromium is needed: apt-get install -y chromium")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=browser_path, args=["--headless", "--no-sandbox", "--disable-background-networking"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})

        # Everything else the page might ask for is refused: the screenshot proves it needs nothing.
        def serve(route: Route) -> None:
            if route.request.url.endswith("/reports"):
                route.fulfill(body=html, content_type="text/html")
            else:
                route.abort()

        page.route("**/*", serve)
        page.goto("http://tierroute.local/reports")
        page.screenshot(path=str(OUT), full_page=True)
        browser.close()


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="tierroute-shot-"))
    try:
        html = asyncio.run(page_html(tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    screenshot(html)
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
