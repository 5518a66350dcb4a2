"""A requester's mail reply to a tier-0 ticket is read: a bare "solved" (English, German, French, Spanish;
quoted text and signature ignored) resolves it as the requester; any other reply sends it to tier 1 with the
reply on the ticket. Replies to tickets beyond tier 0 are left as they were."""

from __future__ import annotations

from email.message import EmailMessage

import httpx
import pytest

from queues.runtime import Runtime
from queues.worker import drain
from tests.conftest import auth, make_agent
from tests.intake.test_email import mail, post
from tests.self_service.conftest import actions
from tests.web.helpers import load

QUOTE = {
    "en": "\n\nOn Mon, Nov 30, 2026 at 10:00 AM Support <support@help.example> wrote:\n> Did it help?\n> Support\n",
    "de": "\n\nAm Mo., 30. Nov. 2026 um 10:00 Uhr schrieb Support <support@help.example>:\n> Hat es geholfen?\n",
    "fr": "\n\nLe lun. 30 nov. 2026 à 10:00, Support <support@help.example> a écrit :\n> Est-ce résolu ?\n",
    "es": "\n\nEl lun, 30 nov 2026 a las 10:00, Support (<support@help.example>) escribió:\n> ¿Le ayudó?\n",
}


async def _tier0_by_mail(runtime: Runtime, client: httpx.AsyncClient, token: str) -> tuple[int, EmailMessage]:
    first = mail("How do I export my invoices?", "I cannot find the export.")
    opened = await post(client, token, first)
    await drain(runtime)
    tid = int(str(opened["ticket_id"]))
    assert (await load(runtime, tid)).support_tier == 0
    return tid, first


async def _reply(client: httpx.AsyncClient, token: str, first: EmailMessage, text: str) -> None:
    reply = mail("Re: How do I export my invoices?", text, In_Reply_To=str(first["Message-ID"]))
    assert (await post(client, token, reply))["outcome"] == "appended"


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Thanks, that worked!\n\n--\nKim Meyer\nACME Corp, Accounts payable"),
        ("de", "Danke, hat funktioniert.\n\nViele Grüße\nKim"),
        ("fr", "Merci, c'est résolu !"),
        ("es", "¡Gracias, ya funciona!"),
    ],
)
async def test_a_solved_reply_resolves_the_ticket(
    runtime: Runtime, client: httpx.AsyncClient, language: str, text: str
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid, first = await _tier0_by_mail(runtime, client, lead)
    await _reply(client, lead, first, text + QUOTE[language])
    ticket = await load(runtime, tid)
    assert (ticket.status, ticket.support_tier) == ("resolved", 0)
    replied, resolved = (await actions(runtime, tid))[-2:]
    assert replied.action == "customer_replied"
    assert (resolved.action, resolved.actor, resolved.reason) == (
        "resolved",
        "requester:kim@acme.example",
        "deflected:reply",
    )


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Not solved: the export button is grey for me."),
        ("de", "Leider nicht gelöst, der Knopf ist grau."),
    ],
)
async def test_any_other_reply_goes_to_tier_1_with_the_reply(
    runtime: Runtime, client: httpx.AsyncClient, language: str, text: str
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid, first = await _tier0_by_mail(runtime, client, lead)
    await _reply(client, lead, first, text + QUOTE[language])
    ticket = await load(runtime, tid)
    assert (ticket.status, ticket.support_tier) == ("queued", 1)
    escalated = (await actions(runtime, tid))[-1]
    assert (escalated.action, escalated.from_tier, escalated.to_tier, escalated.data["cause"]) == (
        "escalated",
        0,
        1,
        "self_service",
    )
    assert escalated.reason == f"the requester replied: {text}"
    shown = (await client.get(f"/api/v1/tickets/{tid}", headers=auth(lead))).json()
    assert shown["messages"][-1]["body_text"] == text  # the reply is on the ticket, without the quote


async def test_replies_beyond_tier_0_are_not_read(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid, first = await _tier0_by_mail(runtime, client, lead)
    await _reply(client, lead, first, "This does not help, the export is missing.")
    assert (await load(runtime, tid)).support_tier == 1
    await _reply(client, lead, first, "Solved, thanks!")  # at tier 1 a person decides
    ticket = await load(runtime, tid)
    assert (ticket.status, ticket.support_tier) == ("queued", 1)
    assert [e.action for e in await actions(runtime, tid)][-1] == "customer_replied"
