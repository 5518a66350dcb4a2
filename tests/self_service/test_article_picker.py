"""Agents put an article into a reply from a search box beside the reply box: a link to a public article,
the text of one only the requester's tier may see; only articles the ticket's requester may see are found.
Without scripts, "Reply with it" opens a reply form holding the text; in a browser, "Insert" puts it at the
cursor."""

from __future__ import annotations

import re

import httpx
import pytest

from queues.runtime import Runtime
from router.kb import files, importing
from router.tickets import service as tickets
from router.unit_of_work import commit
from tests.conftest import ONE_BACKEND, make_customer
from tests.web.helpers import csrf_of, open_ticket, sign_in, web_agent
from tests.web.test_browser import Page, browser, expect, page, server
from tests.web.test_browser import sign_in as browser_sign_in

__all__ = ["browser", "page", "server"]


@pytest.fixture
async def example_kb(runtime: Runtime) -> None:
    async with runtime.app.sessionmaker() as s:
        await importing.import_articles(s, files.read_folder(files.EXAMPLE_FOLDER))
        await commit(s, runtime.app.effects)


def _hits(html: str) -> list[str]:
    section = re.search(r'<section id="article-picker".*?</section>', html, re.S)
    assert section, "no article picker"
    return re.findall(r'<li data-article="([^"]+)">', section.group(0))


async def test_search_insert_and_reply_without_scripts(
    runtime: Runtime, client: httpx.AsyncClient, example_kb: None
) -> None:
    runtime.app.settings = runtime.app.settings.model_copy(update={"public_url": "https://support.example.com"})
    tid = await open_ticket(runtime, subject="Refund please")
    await sign_in(client, await web_agent(runtime, tiers=(1,)))
    ticket_page = (await client.get(f"/ui/tickets/{tid}")).text
    assert f'hx-get="/ui/tickets/{tid}/articles"' in ticket_page and "Insert an article" in ticket_page

    empty = await client.get(f"/ui/tickets/{tid}/articles")
    assert empty.status_code == 200 and _hits(empty.text) == []
    found = await client.get(f"/ui/tickets/{tid}/articles", params={"q": "charged twice refund"})
    assert _hits(found.text)[0] == "charged-twice-refund"
    link = "Charged twice or charged the wrong amount: https://support.example.com/help/charged-twice-refund"
    assert f'data-insert-text="{link}"' in found.text
    # The tier-1 partner's dedicated line is not for this requester (customer tier 3).
    partner = await client.get(f"/ui/tickets/{tid}/articles", params={"q": "dedicated support line account manager"})
    assert "dedicated-support-line" not in _hits(partner.text)
    nothing = await client.get(f"/ui/tickets/{tid}/articles", params={"q": "zyxwvut"})
    assert _hits(nothing.text) == [] and "No published article for this customer matches" in nothing.text

    article_id = re.search(r"insert=(\d+)", found.text)
    assert article_id
    chosen = await client.get(
        f"/ui/tickets/{tid}/articles", params={"q": "charged twice refund", "insert": article_id.group(1)}
    )
    reply = re.search(r'<textarea id="article-reply-body" name="body"[^>]*>(.*?)</textarea>', chosen.text, re.S)
    assert reply and reply.group(1) == link
    version = re.search(r'name="version" value="(\d+)"', chosen.text)
    assert version
    sent = await client.post(
        f"/ui/tickets/{tid}/messages",
        data={"body": link, "kind": "reply", "version": version.group(1), "csrf_token": csrf_of(chosen.text)},
    )
    assert sent.status_code == 303, sent.text
    shown = (await client.get(f"/ui/tickets/{tid}")).text
    assert "https://support.example.com/help/charged-twice-refund" in shown
    for bad in ({"insert": "0"}, {"insert": "99999999999"}, {"q": "x" * 501}):
        answer = await client.get(f"/ui/tickets/{tid}/articles", params=bad)
        assert answer.status_code == 422 and "Traceback" not in answer.text


async def test_an_article_for_one_tier_goes_in_as_text(
    runtime: Runtime, client: httpx.AsyncClient, example_kb: None
) -> None:
    await make_customer(runtime, ref="partner", tier=1, domain="customer.example")  # the requester's domain
    tid = await open_ticket(runtime, subject="Phone line")
    async with runtime.app.sessionmaker() as s:
        ticket = await tickets.get(s, tid)
        ticket.customer_tier = 1  # the requester is the partner's (open_ticket files tier 3)
        await commit(s, runtime.app.effects)
    await sign_in(client, await web_agent(runtime, tiers=(1,)))
    found = await client.get(f"/ui/tickets/{tid}/articles", params={"q": "dedicated support line account manager"})
    assert _hits(found.text)[0] == "dedicated-support-line"
    text = re.search(r'<li data-article="dedicated-support-line">.*?data-insert-text="([^"]*)"', found.text, re.S)
    assert text and "/help/" not in text.group(1) and "\n\n" in text.group(1).replace("&#10;", "\n")
    assert "its text goes in, not a link" in found.text


@pytest.mark.parametrize("database_url", [ONE_BACKEND], indirect=True)
async def test_insert_puts_the_link_at_the_cursor(page: Page, runtime: Runtime, example_kb: None) -> None:
    tid = await open_ticket(runtime, subject="Refund please")
    agent = await web_agent(runtime, tiers=(1,), name="Tess Agent")
    await browser_sign_in(page, agent.email)
    await page.goto(f"/ui/tickets/{tid}")
    box = page.locator("#message-body")
    await box.fill("Hello,\n\nthis explains it:")
    await page.get_by_label("Search the knowledge base (articles this customer may see)").fill("charged twice refund")
    await page.get_by_role("button", name="Search articles").click()
    hit = page.locator('li[data-article="charged-twice-refund"]')
    await hit.get_by_role("button", name="Insert link into the reply").click()
    await expect(box).to_have_value(
        "Hello,\n\nthis explains it:\nCharged twice or charged the wrong amount: /help/charged-twice-refund\n"
    )
    await page.get_by_role("button", name="Send reply").click()
    await expect(page.locator(".conversation")).to_contain_text("/help/charged-twice-refund")
