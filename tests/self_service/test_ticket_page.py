"""Agents see on the ticket page which articles were suggested and what the requester clicked."""

from __future__ import annotations

import re

import httpx

from queues.runtime import Runtime
from router.models.self_service import Feedback
from tests.conftest import make_agent
from tests.self_service.conftest import article, link, suggested, tier0_ticket
from tests.web.helpers import sign_in, web_agent


def _card(html: str) -> str:
    found = re.search(r'<section aria-labelledby="suggestions-h".*?</section>', html, re.S)
    assert found, "no self-service card on the page"
    return found.group(0)


async def test_the_ticket_page_shows_suggestions_and_answers(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    tid = await tier0_ticket(runtime, client, token)
    plain = await tier0_ticket(runtime, client, token, requester="sam@customer.example")
    _, second, third = await suggested(runtime, tid, ["export-invoices", "csv-basics", "reports-101"])
    assert (await client.post(link(runtime, tid, second, Feedback.not_helpful))).status_code == 200
    assert (await client.post(link(runtime, tid, third, Feedback.solved))).status_code == 200  # noted only

    await sign_in(client, await web_agent(runtime, tiers=(0, 1)))
    card = _card((await client.get(f"/ui/tickets/{tid}")).text)
    items = re.findall(r"<li data-article=\"([^\"]+)\">(.*?)</li>", card, re.S)
    assert [slug for slug, _ in items] == ["export-invoices", "csv-basics", "reports-101"]
    texts = {slug: " ".join(re.sub(r"<[^>]+>", " ", body).split()) for slug, body in items}
    assert texts["export-invoices"].endswith("no answer")
    assert "clicked “this didn't help”" in texts["csv-basics"] and "sent the ticket to tier 1" in texts["csv-basics"]
    assert "clicked “this solved it”" in texts["reports-101"] and "resolved" not in texts["reports-101"]
    async with runtime.app.sessionmaker() as s:
        exported = await article(s, "export-invoices")
    assert f'href="/ui/kb/{exported.id}"' in card  # the agents' page of the article (any audience)
    # A ticket without suggestions has no such card.
    assert 'aria-labelledby="suggestions-h"' not in (await client.get(f"/ui/tickets/{plain}")).text
