"""The workspace in a real browser (Debian's chromium, Playwright): the navigation bar's search box opens a
ticket by its ref and lists text matches; a filtered list saved as a view comes back from the sidebar.

The server, browser and page fixtures are ``tests/web/test_browser.py``'s.
"""

from __future__ import annotations

import pytest

from queues.runtime import Runtime
from tests.conftest import ONE_BACKEND
from tests.web.helpers import web_agent
from tests.web.test_browser import Page, browser, expect, page, server, sign_in
from tests.workspace import factories

pytestmark = pytest.mark.parametrize("database_url", [ONE_BACKEND], indirect=True)
__all__ = ["browser", "page", "server"]  # fixtures, used by name


async def test_search_box_opens_a_ref_and_finds_text(page: Page, runtime: Runtime) -> None:
    acme = await factories.customer(runtime, "acme", "Acme Rockets", 1)
    wanted = await factories.ticket(runtime, subject="Launch pad flooded", body="water everywhere", owner=acme)
    other = await factories.ticket(runtime, subject="Password reset")
    hidden = await factories.ticket(runtime, subject="Flooded data centre", tier=3)
    agent = await web_agent(runtime, tiers=(1,))
    await factories.ticket(runtime, subject="Mine already", assignee=agent)
    await sign_in(page, agent.email)
    await expect(page.locator("[data-my-open]")).to_have_text("1")  # the nav bar's count, loaded by htmx

    box = page.get_by_role("searchbox", name="Search tickets")
    await box.fill(other.ref)
    await box.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Password reset")

    await page.get_by_role("searchbox", name="Search tickets").fill("flooded acme")
    await page.get_by_role("searchbox", name="Search tickets").press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Search results for “flooded acme”")
    rows = page.locator("table.ticket-rows tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(wanted.ref)
    await expect(rows.first).to_contain_text("Acme Rockets")
    await expect(page.get_by_text(hidden.ref)).to_have_count(0)  # another tier's match stays hidden
    await page.get_by_role("link", name=wanted.ref).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Launch pad flooded")


async def test_a_filtered_list_saved_as_a_view(page: Page, runtime: Runtime) -> None:
    urgent = await factories.ticket(runtime, subject="Everything is down", priority="urgent")
    calm = await factories.ticket(runtime, subject="A small question", priority="low")
    agent = await web_agent(runtime, tiers=(1,))
    await sign_in(page, agent.email)

    await page.get_by_role("link", name="Tickets", exact=True).click()
    await expect(page.get_by_text(calm.ref)).to_be_visible()
    await page.get_by_label("Priority").select_option("urgent")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(page.get_by_text(calm.ref)).to_have_count(0)
    await expect(page.get_by_text(urgent.ref)).to_be_visible()
    await page.get_by_label("Save these filters as").fill("Fires")
    await page.get_by_role("button", name="Save view").click()
    await expect(page.get_by_text("View “Fires” saved.")).to_be_visible()

    await page.get_by_role("link", name="All tickets").click()
    await expect(page.get_by_text(calm.ref)).to_be_visible()
    await page.get_by_role("link", name="Fires").click()
    await expect(page.get_by_text(calm.ref)).to_have_count(0)
    await expect(page.get_by_text(urgent.ref)).to_be_visible()
    await expect(page.get_by_role("link", name="Fires")).to_have_attribute("aria-current", "page")
