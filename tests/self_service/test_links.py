"""The one-click links of a tier-0 acknowledgement: a valid link resolves or escalates once (after a POST; a
GET only asks); an expired, reused, forged or other-ticket link gets a clear page and changes nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import time_machine
from pydantic import SecretStr

from queues.runtime import Runtime
from router.models.columns import utcnow
from router.models.self_service import Feedback
from tests.conftest import auth, make_agent
from tests.self_service.conftest import actions, link, suggested, tier0_ticket, uses
from tests.web.helpers import load


async def _state(runtime: Runtime, ticket_id: int) -> tuple[str, int | None, int]:
    ticket = await load(runtime, ticket_id)
    return ticket.status, ticket.support_tier, ticket.audit_seq


async def test_this_solved_it_resolves_the_ticket_as_the_requester(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    tid = await tier0_ticket(runtime, client, token)
    first, _ = await suggested(runtime, tid, ["export-invoices", "csv-basics"])
    path = link(runtime, tid, first, Feedback.solved)
    before = await _state(runtime, tid)

    asked = await client.get(path)
    assert asked.status_code == 200
    assert "Export Invoices" in asked.text and '<form method="post"' in asked.text
    assert await _state(runtime, tid) == before  # a GET (a mail scanner's too) changes nothing
    assert await uses(runtime, tid) == []

    done = await client.post(path)
    assert done.status_code == 200 and "your request is closed" in done.text
    ticket = await load(runtime, tid)
    assert ticket.status == "resolved" and ticket.support_tier == 0
    events = await actions(runtime, tid)
    answer, resolved = events[-2:]
    assert (answer.action, answer.data) == ("self_service_answer", {"article": "export-invoices", "feedback": "solved"})
    assert (resolved.action, resolved.actor, resolved.reason) == (
        "resolved",
        "requester:pat@customer.example",
        "deflected:export-invoices",
    )
    [used] = await uses(runtime, tid)
    assert (used.suggestion_id, used.feedback, used.outcome) == (first, "solved", "resolved")
    verify = await client.get(f"/api/v1/tickets/{tid}/audit/verify", headers=auth(token))
    assert verify.json()["valid"] is True


async def test_this_did_not_help_hands_the_ticket_to_tier_1(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    tid = await tier0_ticket(runtime, client, token)
    [only] = await suggested(runtime, tid, ["export-invoices"])
    path = link(runtime, tid, only, Feedback.not_helpful)
    assert "did not help" in (await client.get(path)).text
    done = await client.post(path)
    assert done.status_code == 200 and "a person will take it from here" in done.text
    ticket = await load(runtime, tid)
    assert (ticket.status, ticket.support_tier) == ("queued", 1)
    escalated = (await actions(runtime, tid))[-1]
    assert (escalated.action, escalated.from_tier, escalated.to_tier, escalated.data["cause"]) == (
        "escalated",
        0,
        1,
        "self_service",
    )
    assert "Export Invoices" in (escalated.reason or "")
    # In the tier-1 queue (Redis) for an agent to claim.
    queued = await client.get("/api/v1/queues/1", headers=auth(token))
    assert tid in [t["id"] for t in queued.json()["items"]], queued.text


async def test_a_used_link_changes_nothing_the_second_time(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    tid = await tier0_ticket(runtime, client, token)
    first, second = await suggested(runtime, tid, ["export-invoices", "csv-basics"])
    unhelpful = link(runtime, tid, first, Feedback.not_helpful)
    assert (await client.post(unhelpful)).status_code == 200
    after_first = await _state(runtime, tid)

    again = await client.post(unhelpful)
    assert again.status_code == 409 and "already answered" in again.text
    sibling = await client.post(link(runtime, tid, first, Feedback.solved))  # the same suggestion's other link
    assert sibling.status_code == 409
    assert (await client.get(unhelpful)).status_code == 409
    assert await _state(runtime, tid) == after_first
    assert len(await uses(runtime, tid)) == 1
    # Another suggestion of the ticket still takes its answer; the ticket moved on, so it is only noted.
    noted = await client.post(link(runtime, tid, second, Feedback.solved))
    assert noted.status_code == 200 and "noted your answer" in noted.text
    assert (await load(runtime, tid)).status == "queued"  # still with tier 1, not closed by the late click
    assert [u.outcome for u in await uses(runtime, tid)] == ["escalated", "recorded"]


async def test_many_clicks_at_once_act_once(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    tid = await tier0_ticket(runtime, client, token)
    [only] = await suggested(runtime, tid, ["export-invoices"])
    path = link(runtime, tid, only, Feedback.solved)
    answers = await asyncio.gather(*(client.post(path) for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 5
    assert [e.action for e in await actions(runtime, tid)].count("resolved") == 1


async def test_an_expired_link_changes_nothing(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    tid = await tier0_ticket(runtime, client, token)
    [only] = await suggested(runtime, tid, ["export-invoices"])
    path = link(runtime, tid, only, Feedback.solved)
    before = await _state(runtime, tid)
    days = runtime.app.settings.self_service_link_days
    with time_machine.travel(utcnow() + timedelta(days=days, seconds=1), tick=False):
        for answer in (await client.get(path), await client.post(path)):
            assert answer.status_code == 410 and "expired" in answer.text
    assert await _state(runtime, tid) == before and await uses(runtime, tid) == []
    with time_machine.travel(utcnow() + timedelta(days=days, seconds=-60), tick=False):
        assert (await client.get(path)).status_code == 200  # a minute before, it still works


async def test_a_forged_link_changes_nothing(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    tid = await tier0_ticket(runtime, client, token)
    first, second = await suggested(runtime, tid, ["export-invoices", "csv-basics"])
    path = link(runtime, tid, first, Feedback.not_helpful)
    prefix, token_part = path.rsplit("/", 1)
    payload, mac = token_part.rsplit(".", 1)
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    other_action = payload.replace(".n.", ".s.") + "." + mac  # the solved link, made from the unhelpful one
    other_suggestion = payload.replace(f".{first}.", f".{second}.") + "." + mac
    longer = payload.rsplit(".", 1)[0] + ".99999999999." + mac  # expiry stretched
    before = await _state(runtime, tid)
    forged = [flipped and f"{payload}.{flipped}", other_action, other_suggestion, longer, "x", "v1.1.1.s.1", "é" * 10]
    forged += ["a" * 5000]
    for token_text in forged:
        for answer in (await client.get(f"{prefix}/{token_text}"), await client.post(f"{prefix}/{token_text}")):
            assert answer.status_code == 404 and "does not work" in answer.text, (token_text, answer.text)
    for bad_ref in ("T-99999999999", "T-0", "nonsense", "T-000001x"):
        answer = await client.post(f"/self-service/{bad_ref}/{token_part}")
        assert answer.status_code in (403, 404) and "Traceback" not in answer.text
    # A link signed with another key (another installation, or a guessed one) is forged too.
    runtime.app.settings = runtime.app.settings.model_copy(update={"self_service_key": SecretStr("k" * 40)})
    assert (await client.post(path)).status_code == 404
    assert await _state(runtime, tid) == before and await uses(runtime, tid) == []


async def test_a_link_for_another_ticket_changes_neither(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, token = await make_agent(runtime, role="lead", tiers=())
    mine = await tier0_ticket(runtime, client, token)
    theirs = await tier0_ticket(runtime, client, token, requester="sam@customer.example")
    [my_suggestion] = await suggested(runtime, mine, ["export-invoices"])
    [their_suggestion] = await suggested(runtime, theirs, ["export-invoices"])
    my_link = link(runtime, mine, my_suggestion, Feedback.solved)
    their_ref = (await load(runtime, theirs)).ref
    moved = f"/self-service/{their_ref}/{my_link.rsplit('/', 1)[1]}"
    before = (await _state(runtime, mine), await _state(runtime, theirs))
    for answer in (await client.get(moved), await client.post(moved)):
        assert answer.status_code == 403 and "another request" in answer.text
    # A token signed for this ticket but naming another ticket's suggestion is not ours either.
    crossed = link(runtime, mine, their_suggestion, Feedback.solved)
    assert (await client.post(crossed)).status_code == 404
    assert (await _state(runtime, mine), await _state(runtime, theirs)) == before
    assert await uses(runtime, mine) == [] and await uses(runtime, theirs) == []


async def test_odd_bytes_in_a_link_are_a_page_not_an_error(runtime: Runtime, client: httpx.AsyncClient) -> None:
    for path in (
        "/self-service/T-000001/%FF%FE",
        "/self-service/%00/x",
        "/self-service/T-000001/a%00b",
        "/self-service/T-000001/..%2F..",
    ):
        for answer in (await client.get(path), await client.post(path)):
            assert answer.status_code in (403, 404), (path, answer.status_code)
            assert answer.headers["content-type"].startswith("text/html") and "Traceback" not in answer.text
