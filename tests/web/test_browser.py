"""End-to-end in a real browser: Debian's chromium driven by Playwright against a live uvicorn server.

One server (a thread on a free loopback port, against the test database and Redis) and one browser for
the module; each test gets a fresh browser context. Routing runs through the real rulebook and arq jobs
(``drain``). Never ``playwright install``: the browser is the ``chromium`` package (``.ci/run`` installs it).
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn

from queues.runtime import Runtime, open_app_context
from queues.worker import drain
from router.app import create_app
from router.settings import Settings
from tests.conftest import ONE_BACKEND, REQUIRE_SERVICES, free_port
from tests.web.helpers import PASSWORD, load, open_ticket, web_agent

playwright_api = pytest.importorskip("playwright.async_api")
Browser = playwright_api.Browser
Page = playwright_api.Page
expect = playwright_api.expect

# One backend is enough for the browser (the ASGI tests cover both): PostgreSQL where it runs.
pytestmark = pytest.mark.parametrize("database_url", [ONE_BACKEND], indirect=True)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking"]
# A busy CI machine (two cores, other suites) can take seconds to route, render and push a live update.
expect.set_options(timeout=10_000)


class ServerThread:
    """uvicorn serving the app in a thread of its own (its own event loop), stopped by ``should_exit``."""

    def __init__(self, settings: Settings, port: int) -> None:
        app = create_app(settings, open_app_context)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="web-test-server", daemon=True)
        self.base_url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test web server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(scope="module")
def server(database_url: str, redis_url: str, session_tmp: Path) -> Iterator[ServerThread]:
    settings = Settings(
        database_url=database_url, redis_url=redis_url, data_dir=session_tmp / "web-server", live_poll_seconds=0.2
    )
    thread = ServerThread(settings, free_port())
    thread.start()
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        message = "Debian's chromium is not installed (apt-get install chromium; see .ci/run)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    async with playwright_api.async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser, server: ServerThread, runtime: Runtime) -> AsyncIterator[Page]:
    """A fresh context (no cookies) per test; ``runtime`` first, so tables and Redis are emptied."""
    context = await browser.new_context(base_url=server.base_url)
    context.set_default_timeout(10_000)
    tab = await context.new_page()
    yield tab
    await context.close()


async def sign_in(page: Page, email: str) -> None:
    """With the keyboard: type, then Enter in the password field submits the form."""
    await page.goto("/ui/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Password").press("Enter")
    await expect(page.get_by_role("heading", name="My queues")).to_be_visible()


async def test_claim_reply_escalate_and_follow_the_ticket(page: Page, runtime: Runtime) -> None:
    ticket_id = await open_ticket(runtime, subject="Checkout API returns 500 errors", body="It fails.", tier=None)
    await drain(runtime)  # the rulebook routes it, as in production
    tier = (await load(runtime, ticket_id)).support_tier
    assert tier is not None and tier < 4
    agent = await web_agent(runtime, tiers=(tier, tier + 1))
    ref = (await load(runtime, ticket_id)).ref
    assert ref is not None

    await sign_in(page, agent.email)
    await page.get_by_role("link", name=f"Tier {tier} ·").click()
    await expect(page.get_by_role("link", name=ref)).to_be_visible()
    await page.get_by_role("button", name="Claim next").click()
    await expect(page.get_by_text(f"You claimed {ref}.")).to_be_visible()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Checkout API returns 500 errors")

    await page.get_by_label("Reply to").fill("We are looking into it.")
    await page.get_by_role("button", name="Send reply").click()
    await expect(page.get_by_text("Reply queued for sending by email.")).to_be_visible()
    await expect(page.locator(".conversation")).to_contain_text("We are looking into it.")

    await page.get_by_label("Target tier").select_option(str(tier + 1))
    await page.get_by_label("Reason (required)").first.fill("needs the payments engineers")
    await page.get_by_role("button", name="Escalate", exact=True).click()
    await expect(page.get_by_text(f"{ref} escalated to tier {tier + 1}.")).to_be_visible()
    timeline = page.locator(".timeline")
    await expect(timeline.locator(".event-escalated")).to_contain_text(f"from tier {tier} to tier {tier + 1}")
    await expect(timeline.locator(".event-escalated")).to_contain_text("needs the payments engineers")
    await expect(page.get_by_text("Hash chain verified")).to_be_visible()

    await page.goto(f"/ui/queues/{tier}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(f"Tier {tier}")
    await expect(page.get_by_role("link", name=ref)).to_have_count(0)
    await page.goto(f"/ui/queues/{tier + 1}")
    await expect(page.get_by_role("link", name=ref)).to_be_visible()


async def test_script_and_onerror_payloads_stay_inert(page: Page, runtime: Runtime) -> None:
    subject = "<img src=x onerror=\"window.__xss='subject'\"><script>window.__xss='script'</script>"
    html = "<p>body</p><img src=x onerror=\"window.__xss='body'\"><script>window.__xss='body-script'</script>"
    ticket_id = await open_ticket(runtime, subject=subject, body="text", html=html)
    lead = await web_agent(runtime, role="lead", tiers=())
    await sign_in(page, lead.email)
    for url in ("/ui/queues/1", f"/ui/tickets/{ticket_id}"):
        await page.goto(url)
        await expect(page.get_by_text("<script>window.__xss='script'</script>", exact=False).first).to_be_visible()
        await asyncio.sleep(0.3)  # give any injected handler the chance to run
        assert await page.evaluate("typeof window.__xss") == "undefined"
    await expect(page.get_by_role("heading", level=1)).to_contain_text(subject)
    assert await page.locator(".body-html img[onerror]").count() == 0


async def test_a_form_posted_without_its_csrf_token_gets_403(page: Page, runtime: Runtime) -> None:
    await open_ticket(runtime)
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(page, agent.email)
    token = await page.locator('input[name="csrf_token"]').first.input_value()
    # The browser's own cookie jar, so the session is valid and only the token is missing.
    refused = await page.request.post("/ui/queues/1/claim", form={"other": "x"}, max_redirects=0)
    assert refused.status == 403
    assert "security token" in await refused.text()
    accepted = await page.request.post("/ui/queues/1/claim", form={"csrf_token": token}, max_redirects=0)
    assert accepted.status == 303


async def test_an_agent_opening_another_tiers_ticket_gets_403(page: Page, runtime: Runtime) -> None:
    ticket_id = await open_ticket(runtime, tier=3)
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(page, agent.email)
    response = await page.goto(f"/ui/tickets/{ticket_id}")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", name="Forbidden")).to_be_visible()
    await expect(page.get_by_text("you do not work support tier 3")).to_be_visible()


async def test_queue_depths_and_new_tickets_appear_without_reload(page: Page, runtime: Runtime) -> None:
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(page, agent.email)
    depth = page.locator('[data-depth-tier="1"]')
    await expect(depth).to_have_text("0")
    await page.evaluate("window.__notReloaded = true")
    await open_ticket(runtime, subject="Arrived while watching")
    await expect(depth).to_have_text("1")
    await page.get_by_role("link", name="Tier 1 ·").click()
    await expect(page.get_by_role("link", name="Arrived while watching")).to_be_visible()
    assert await page.evaluate("window.__notReloaded === true")  # htmx-boosted: the page was not reloaded
    await open_ticket(runtime, subject="Second arrival", priority="urgent")
    await expect(page.get_by_role("link", name="Second arrival")).to_be_visible()
    await expect(page.locator('[data-depth-tier="1"]')).to_have_text("2")
    assert await page.evaluate("window.__notReloaded === true")


async def test_keyboard_alone_claims_and_focus_is_visible(page: Page, runtime: Runtime) -> None:
    ticket_id = await open_ticket(runtime, subject="Keyboard user's ticket")
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(page, agent.email)
    for _ in range(30):  # skip link, brand, nav links, search, profile, ... until the first "Claim next"
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.textContent.trim()") == "Claim next":
            break
    else:
        pytest.fail("Tab never reached a Claim next button")
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # the focus ring is drawn
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Keyboard user's ticket")
    assert (await load(runtime, ticket_id)).assignee_id == agent.id


async def test_error_pages_keep_the_navigation_bar(page: Page, runtime: Runtime) -> None:
    """Issue 16 item 25: an agent opening the reports, or a ticket that does not exist, gets a page, not JSON."""
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(page, agent.email)
    for url, status, heading, detail in [
        ("/reports", 403, "Forbidden", "only leads and admins"),
        ("/ui/tickets/999999", 404, "Not found", "ticket 999999 does not exist"),
    ]:
        response = await page.goto(url)
        assert response is not None and response.status == status
        assert response.headers["content-type"].startswith("text/html")
        await expect(page.get_by_role("heading", name=heading)).to_be_visible()
        await expect(page.get_by_text(detail)).to_be_visible()
        navigation = page.get_by_role("navigation", name="Main")
        await expect(navigation.get_by_role("link", name="My queues")).to_be_visible()
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="My queues").click()
    await expect(page.get_by_role("heading", name="My queues")).to_be_visible()


async def _csp_violations(page: Page) -> list[str]:
    """The console's Content-Security-Policy complaints on this page, as they come."""
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found


async def test_the_api_docs_run_from_local_files_under_the_csp(page: Page, server: ServerThread) -> None:
    violations = await _csp_violations(page)
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(server.base_url) else None)
    await page.goto("/docs")
    await expect(page.get_by_text("/api/v1/tickets/{ticket_id}/escalate").first).to_be_visible()
    await page.get_by_text("/healthz").first.click()
    await expect(page.get_by_role("button", name="Try it out")).to_be_visible()
    assert violations == [] and foreign == []


async def test_the_report_page_renders_under_its_csp(page: Page, runtime: Runtime) -> None:
    violations = await _csp_violations(page)
    lead = await web_agent(runtime, role="lead", tiers=())
    await sign_in(page, lead.email)
    await page.goto("/reports")
    await expect(page.locator("svg").first).to_be_visible()
    assert violations == []


async def test_an_available_agent_receives_an_offer_live_and_accepts_it(page: Page, runtime: Runtime) -> None:
    from router.assignment import assigner
    from router.models.tickets import Status
    from tests.assignment.helpers import push

    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(page, agent.email)
    await page.get_by_label("Your status").select_option("available")
    await page.get_by_role("button", name="Set", exact=True).click()
    await expect(page.get_by_text("You are available.")).to_be_visible()
    deadline = time.monotonic() + 10
    while agent.id not in await runtime.app.live.last_seen():  # the page's live stream is open
        assert time.monotonic() < deadline, "the live stream did not start"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # subscribed as well as seen

    push(runtime, "round_robin")
    ticket_id = await open_ticket(runtime, subject="Offered while watching")
    assert await assigner.run_tier(runtime.app, 1) == 1
    offer = page.locator("[data-offer]")
    await expect(offer).to_contain_text("Offered to you")
    await expect(offer).to_contain_text("Offered while watching")
    await page.reload()  # a page opened after the offer was made gets it when its stream connects, once
    await expect(offer).to_have_count(1)
    await expect(offer).to_contain_text("Offered while watching")
    await offer.get_by_role("button", name="Accept").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Offered while watching")
    ticket = await load(runtime, ticket_id)
    assert (ticket.status, ticket.assignee_id) == (Status.in_progress, agent.id)


async def test_a_lead_opens_a_customer_and_sees_the_timeline_and_the_slip(page: Page, runtime: Runtime) -> None:
    from router.customers import service as customers
    from router.customers import tiering
    from router.unit_of_work import commit

    async with runtime.app.sessionmaker() as s:
        acme = await customers.create_customer(s, external_ref="acme", name="Acme Corp", tier=1)
        await commit(s, runtime.app.effects)
        await tiering.retier(s, acme, 3, reason="contract downgraded", by=None, source="manual")
        await commit(s, runtime.app.effects)
    lead = await web_agent(runtime, role="lead", tiers=(1,))
    await sign_in(page, lead.email)
    await page.get_by_role("link", name="Customers").click()
    await page.get_by_role("link", name="Acme Corp").click()
    await expect(page.get_by_role("heading", name="Acme Corp")).to_be_visible()
    steps = page.locator("[data-tier-timeline] li")
    await expect(steps).to_have_count(2)
    await expect(steps.first).to_contain_text("1 → 3")
    await expect(steps.first).to_contain_text("contract downgraded")
    await expect(steps.last).to_contain_text("onboarded at 1")
    banner = page.locator('[data-customer-banner="slipped"]')
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("Slipped from tier 1 to tier 3")
