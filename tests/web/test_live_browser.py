"""Live collaboration in a real browser (issue 17 items 7 and 8): two agents on one ticket see each other
and a reply on a changed ticket asks first; a notification arrives on an open page without a reload.

The server, browser and sign-in come from ``test_browser`` (same uvicorn thread, Debian's chromium).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from queues.runtime import Runtime
from router.models.agents import Agent
from router.tickets import service as tickets
from router.tickets.actors import Actor
from router.unit_of_work import commit
from tests.conftest import ONE_BACKEND
from tests.web.helpers import load, open_ticket, web_agent
from tests.web.test_browser import (  # noqa: F401 (fixtures)
    Browser,
    Page,
    ServerThread,
    browser,
    expect,
    page,
    server,
    sign_in,
)

pytestmark = pytest.mark.parametrize("database_url", [ONE_BACKEND], indirect=True)


@pytest.fixture
async def second_page(browser: Browser, server: ServerThread, page: Page) -> AsyncIterator[Page]:  # noqa: F811
    """Another agent's browser: a context of its own (cookies, session), beside ``page``."""
    context = await browser.new_context(base_url=server.base_url)
    context.set_default_timeout(10_000)
    yield await context.new_page()
    await context.close()


async def test_two_agents_on_one_ticket_see_each_other_and_a_stale_reply_asks_first(
    page: Page,  # noqa: F811
    second_page: Page,
    runtime: Runtime,
) -> None:
    ticket_id = await open_ticket(runtime, subject="Export fails for large files", tier=1)
    ada = await web_agent(runtime, tiers=(1,), name="Ada Viewer")
    bob = await web_agent(runtime, tiers=(1,), name="Bob Typist")
    await sign_in(page, ada.email)
    await sign_in(second_page, bob.email)
    await page.goto(f"/ui/tickets/{ticket_id}")
    await second_page.goto(f"/ui/tickets/{ticket_id}")

    presence = page.locator("[data-presence]")
    await expect(presence).to_have_text("Bob Typist is also viewing this ticket")
    await expect(second_page.locator("[data-presence]")).to_have_text("Ada Viewer is also viewing this ticket")

    await second_page.get_by_label("Reply to").press_sequentially("We found the cause", delay=20)
    await expect(presence).to_have_text("Bob Typist is typing a reply")
    await page.get_by_label("Reply to").fill("Could you send the file?")
    changed = page.locator("[data-ticket-changed]")
    await expect(changed).to_be_hidden()  # nothing changed yet
    await second_page.get_by_role("button", name="Send reply").click()
    await expect(second_page.get_by_text("Reply queued for sending by email.")).to_be_visible()

    await expect(changed).to_be_visible()
    await expect(changed).to_contain_text("This ticket changed since you opened it (replied)")

    await page.get_by_role("button", name="Send reply").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{(await load(runtime, ticket_id)).ref} changed since you opened it"
    )
    await expect(page.get_by_role("alert")).to_contain_text("was not sent")
    await expect(page.locator(".timeline")).to_contain_text("replied by Bob Typist")
    await page.get_by_role("button", name="Send anyway").click()
    await expect(page.get_by_text("Reply queued for sending by email.")).to_be_visible()
    conversation = page.locator(".conversation")
    await expect(conversation).to_contain_text("We found the cause")
    await expect(conversation).to_contain_text("Could you send the file?")

    await second_page.goto("/ui/")  # Bob leaves the ticket: Ada sees him go
    await expect(presence).to_have_text("")


async def _reassign(runtime: Runtime, ticket_id: int, lead: Agent, target: Agent) -> None:
    async with runtime.app.sessionmaker() as s:
        ticket = await tickets.get(s, ticket_id, lock=True)
        by, to = await s.get(Agent, lead.id), await s.get(Agent, target.id)
        assert by is not None and to is not None
        await tickets.reassign(s, ticket, Actor.of(by), to, reason="Ada knows this customer")
        await commit(s, runtime.app.effects)


async def test_a_notification_arrives_live_and_is_listed(page: Page, runtime: Runtime) -> None:  # noqa: F811
    ticket_id = await open_ticket(runtime, subject="Refund not received", tier=1)
    ref = (await load(runtime, ticket_id)).ref
    ada = await web_agent(runtime, tiers=(1,), name="Ada")
    lead = await web_agent(runtime, role="lead", tiers=(1,), name="Lena Lead")
    await sign_in(page, ada.email)
    count = page.locator("[data-unread-count]")
    await expect(count).to_have_text("0")
    await page.evaluate("window.__notReloaded = true")

    await _reassign(runtime, ticket_id, lead, ada)
    await expect(count).to_have_text("1")
    await expect(page.get_by_role("link", name=f"{ref} was assigned to you by Lena Lead")).to_be_visible()
    assert await page.evaluate("window.__notReloaded === true")

    await page.get_by_role("link", name="Notifications").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    await page.get_by_role("button", name=f"{ref} was assigned to you by Lena Lead").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Refund not received")
    await expect(page.locator("[data-unread-count]")).to_have_text("0")
