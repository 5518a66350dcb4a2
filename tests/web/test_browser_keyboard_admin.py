"""In a real browser (issue 17 items 9, 10, 11): the keyboard alone takes the next ticket, replies and
escalates; /docs renders with every outside request refused; an admin adds an agent who then signs in.

The server, browser and page fixtures are ``test_browser``'s (Debian's chromium through Playwright).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from queues.runtime import Runtime
from tests.conftest import ONE_BACKEND
from tests.web import test_browser
from tests.web.helpers import PASSWORD, load, open_ticket, web_agent
from tests.web.test_browser import Page, expect, sign_in

# test_browser's fixtures: one server and one browser for this module too, a fresh context per test.
server = test_browser.server
browser = test_browser.browser
page = test_browser.page

pytestmark = pytest.mark.parametrize("database_url", [ONE_BACKEND], indirect=True)


async def test_keyboard_only_next_ticket_reply_escalate(page: Page, runtime: Runtime) -> None:
    ticket_id = await open_ticket(runtime, subject="Keyboard only, start to end", tier=1)
    agent = await web_agent(runtime, tiers=(1, 2))
    await sign_in(page, agent.email)

    await page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(help_dialog).to_be_visible()
    await expect(help_dialog).to_contain_text("Next ticket")
    await page.keyboard.press("Escape")
    await expect(help_dialog).to_be_hidden()
    await page.keyboard.press("/")
    await expect(page.get_by_role("searchbox", name="Search tickets")).to_be_focused()
    await page.keyboard.press("Escape")  # leaves the field; letters are shortcuts again

    await page.keyboard.press("n")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Keyboard only, start to end")
    ticket = await load(runtime, ticket_id)
    assert ticket.assignee_id == agent.id
    ref = ticket.ref

    await page.keyboard.press("r")
    await expect(page.locator("#message-body")).to_be_focused()
    await page.keyboard.type("Looking into it now.")
    await page.keyboard.press("Control+Enter")
    await expect(page.get_by_text("Reply queued for sending by email.")).to_be_visible()
    await expect(page.locator(".conversation")).to_contain_text("Looking into it now.")

    await page.keyboard.press("e")
    await expect(page.locator("#escalate-reason")).to_be_focused()
    await page.keyboard.type("needs the database team")
    await page.keyboard.press("Control+Enter")
    await expect(page.get_by_text(f"{ref} escalated to tier 2.")).to_be_visible()
    assert (await load(runtime, ticket_id)).support_tier == 2
    await expect(page.locator(".timeline .event-escalated")).to_contain_text("needs the database team")


async def test_swagger_ui_renders_with_no_outside_request(page: Page, runtime: Runtime, server: object) -> None:
    refused: list[str] = []

    async def only_this_site(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if urlsplit(url).hostname == "127.0.0.1":
            await route.continue_()  # type: ignore[attr-defined]
        else:
            refused.append(url)
            await route.abort()  # type: ignore[attr-defined]

    await page.context.route("**/*", only_this_site)
    await page.goto("/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("tierroute")
    await expect(page.locator(".opblock-summary-path").filter(has_text="/api/v1/agents").first).to_be_visible()
    assert refused == []


async def test_an_admin_adds_an_agent_who_then_signs_in(page: Page, runtime: Runtime) -> None:
    admin = await web_agent(runtime, role="admin", tiers=())
    await sign_in(page, admin.email)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Agents").click()
    await expect(page.get_by_role("heading", name="Agents", exact=True)).to_be_visible()
    form = page.locator("form", has=page.get_by_role("heading", name="Add an agent"))
    await form.get_by_label("Name").fill("Priya Raman")
    await form.get_by_label("Email").fill("priya@support.example")
    await form.get_by_label("Role").select_option("agent")
    await form.get_by_label("tier 1 (").check()
    await form.get_by_label("Web UI password").fill(PASSWORD)
    await form.get_by_role("button", name="Add agent").click()
    await expect(page.get_by_text("Agent priya@support.example added.")).to_be_visible()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Priya Raman")

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/ui/login")  # signed out before the next sign-in reads the form
    await sign_in(page, "priya@support.example")
    await expect(page.get_by_role("link", name="Tier 1 ·")).to_be_visible()
    await expect(page.get_by_role("link", name="Tier 2 ·")).to_have_count(0)
