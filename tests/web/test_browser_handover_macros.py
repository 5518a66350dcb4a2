"""In a real browser (issue 17 items 4 and 5): take, release and reassign; a macro written by a lead,
previewed and applied by an agent with its actions. Launched as ``test_browser.py`` launches chromium."""

from __future__ import annotations

import pytest

from queues.runtime import Runtime
from router.models.tickets import Status
from tests.conftest import ONE_BACKEND
from tests.web.helpers import load, open_ticket, web_agent
from tests.web.test_browser import Page, browser, expect, page, server, sign_in

__all__ = ["browser", "page", "server"]  # the module's fixtures, shared with test_browser.py
pytestmark = pytest.mark.parametrize("database_url", [ONE_BACKEND], indirect=True)


async def sign_out(page: Page) -> None:
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Email")).to_be_visible()


async def test_take_release_and_reassign(page: Page, runtime: Runtime) -> None:
    await open_ticket(runtime, subject="Head of the queue", priority="urgent")
    chosen = await open_ticket(runtime, subject="The one I know about")
    ref = (await load(runtime, chosen)).ref
    assert ref is not None
    agent = await web_agent(runtime, tiers=(1,), name="Tess Agent")
    lead = await web_agent(runtime, role="lead", tiers=(), name="Lee Lead")

    await sign_in(page, agent.email)
    await page.get_by_role("link", name="Tier 1 ·").click()
    await page.get_by_role("link", name="The one I know about").click()
    await page.get_by_role("button", name="Take this ticket").click()
    await expect(page.get_by_text(f"You took {ref}.")).to_be_visible()
    await expect(page.locator(".ticket-head")).to_contain_text("assigned to Tess Agent")
    assert (await load(runtime, chosen)).assignee_id == agent.id

    await page.get_by_label("Why (optional)").first.fill("not my area")
    await page.get_by_role("button", name="Release", exact=True).click()
    await expect(page.get_by_text(f"{ref} is back in the tier 1 queue.")).to_be_visible()
    rows = page.locator("#queue-rows tbody tr")
    await expect(rows.nth(1)).to_contain_text("The one I know about")  # its original place, after the head
    await sign_out(page)

    await sign_in(page, lead.email)
    await page.goto(f"/ui/tickets/{chosen}")
    await page.get_by_label("Agent").select_option(label="Tess Agent (agent)")
    await page.locator("#reassign-reason").fill("knows the customer")
    await page.get_by_role("button", name="Reassign").click()
    await expect(page.get_by_text(f"{ref} reassigned to Tess Agent.")).to_be_visible()
    timeline = page.locator(".timeline")
    await expect(timeline.locator(".event-released")).to_contain_text("not my area")
    await expect(timeline.locator(".event-reassigned")).to_contain_text("knows the customer")
    ticket = await load(runtime, chosen)
    assert (ticket.status, ticket.assignee_id) == (Status.in_progress, agent.id)


async def test_a_macro_with_a_preview_and_its_actions(page: Page, runtime: Runtime) -> None:
    ticket_id = await open_ticket(runtime, subject="Export is empty")
    lead = await web_agent(runtime, role="lead", tiers=())
    agent = await web_agent(runtime, tiers=(1,), name="Tess Agent")

    await sign_in(page, lead.email)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Macros").click()
    await page.get_by_role("link", name="New macro").click()
    await page.get_by_label("Name").fill("Ask for the export file")
    await page.get_by_label("Template").fill("Hello,\n\nfor {{ ticket.ref }} please send the file.\n{{ agent.nme }}")
    await page.get_by_label("Set priority").select_option("high")
    await page.get_by_label("Add tags (separated by spaces)").fill("export")
    await page.get_by_label("Set status").select_option("waiting_on_customer")
    await page.get_by_role("button", name="Save macro").click()
    await expect(page.get_by_role("alert")).to_contain_text("at line 4: agent has no field 'nme'")
    await page.get_by_label("Template").fill("Hello,\n\nfor {{ ticket.ref }} please send the file.\n{{ agent.name }}")
    await page.get_by_role("button", name="Save macro").click()
    await expect(page.get_by_text("Macro 'Ask for the export file' saved.")).to_be_visible()
    await sign_out(page)

    await sign_in(page, agent.email)
    await page.goto(f"/ui/tickets/{ticket_id}")
    ref = (await load(runtime, ticket_id)).ref
    await page.get_by_label("Macro", exact=True).select_option(label="Ask for the export file")
    await page.get_by_role("button", name="Preview macro").click()
    message = page.locator("#macro-message")
    await expect(message).to_have_value(f"Hello,\n\nfor {ref} please send the file.\nTess Agent")
    actions = page.locator(".macro-actions")
    await expect(actions).to_contain_text("set priority to high")
    await expect(actions).to_contain_text("add tags export")
    await expect(actions).to_contain_text("set status to waiting on customer")
    await message.fill(f"Hello,\n\nfor {ref} please send the export file you tried.\nTess")
    await page.get_by_label("Attach files (optional)").last.set_input_files(
        {"name": "export.csv", "mimeType": "text/csv", "buffer": b"id,total\n1,0\n"}
    )
    await page.get_by_role("button", name="Apply macro").click()
    await expect(page.get_by_text(f"Macro applied to {ref}.")).to_be_visible()
    await expect(page.locator(".conversation")).to_contain_text("please send the export file you tried.")
    await expect(page.locator(".ticket-head")).to_contain_text("waiting on customer")
    await expect(page.locator(".ticket-head .badge.prio-high")).to_be_visible()
    await expect(page.locator("#tags-value")).to_have_value("export")
    await expect(page.locator(".attachments").get_by_role("link", name="export.csv")).to_be_visible()
    ticket = await load(runtime, ticket_id)
    assert (ticket.status, ticket.priority, ticket.tags) == (Status.waiting_on_customer, "high", ["export"])
