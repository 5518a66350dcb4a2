"""Macros through the API (issue 17 item 5): leads define them, agents preview and apply them on tickets of
their tiers; templates are sandboxed and their problems are 422s with the line, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from queues.runtime import Runtime
from router.macros import templating
from router.models.audit import AuditEvent
from router.models.tickets import Message, Status
from tests.conftest import auth, make_agent, make_customer
from tests.web.helpers import load, open_ticket

GREETING = "Hello,\n\nabout {{ ticket.subject }} ({{ ticket.ref }}): we are on it.\n\n{{ agent.name }}"


def macro_json(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "On it", "body": GREETING}
    body.update(overrides)
    return body


async def _trail(runtime: Runtime, ticket_id: int) -> list[AuditEvent]:
    async with runtime.app.sessionmaker() as s:
        rows = await s.exec(select(AuditEvent).where(AuditEvent.ticket_id == ticket_id).order_by(col(AuditEvent.seq)))
        return list(rows.all())


async def test_leads_define_macros_and_agents_only_read_them(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    _, agent = await make_agent(runtime, tiers=(1,))
    r = await client.post("/api/v1/macros", json=macro_json(), headers=auth(agent))
    assert r.status_code == 403
    r = await client.post("/api/v1/macros", json=macro_json(), headers=auth(lead))
    assert r.status_code == 201, r.text
    macro = r.json()
    assert (macro["name"], macro["internal"], macro["tiers"], macro["actions"]["add_tags"]) == ("On it", False, [], [])
    assert (await client.post("/api/v1/macros", json=macro_json(), headers=auth(lead))).status_code == 409
    tier_two = await client.post("/api/v1/macros", json=macro_json(name="Tier 2 only", tiers=[2]), headers=auth(lead))
    assert tier_two.status_code == 201
    assert [m["name"] for m in (await client.get("/api/v1/macros", headers=auth(agent))).json()] == ["On it"]
    assert len((await client.get("/api/v1/macros", headers=auth(lead))).json()) == 2

    changed = macro_json(name="On it now", actions={"priority": "high"})
    r = await client.put(f"/api/v1/macros/{macro['id']}", json=changed, headers=auth(agent))
    assert r.status_code == 403
    r = await client.put(f"/api/v1/macros/{macro['id']}", json=changed, headers=auth(lead))
    assert r.status_code == 200 and r.json()["actions"]["priority"] == "high"
    assert (await client.delete(f"/api/v1/macros/{macro['id']}", headers=auth(agent))).status_code == 403
    assert (await client.delete(f"/api/v1/macros/{macro['id']}", headers=auth(lead))).status_code == 204
    assert (await client.delete(f"/api/v1/macros/{macro['id']}", headers=auth(lead))).status_code == 404
    bad = macro_json(name="x", actions={"status": "resolved", "escalate": {"reason": "r"}})
    r = await client.post("/api/v1/macros", json=bad, headers=auth(lead))
    assert r.status_code == 422 and "a status or escalates, not both" in r.text
    r = await client.post("/api/v1/macros", json=macro_json(name="y", actions={"status": "closed"}), headers=auth(lead))
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("template", "line", "words"),
    [
        ("Hello\n{% if ticket.subject %}\nno end", 2, "Unexpected end of template"),
        ("Hello\n\n{{ ticket.subject }\n", 3, "unexpected '}'"),
        ("Hi\n\n{{ tickt.subject }}", 3, "unknown name 'tickt'"),
        ("Hi\n{{ ticket.password }}", 2, "ticket has no field 'password'"),
        ("Hi\n{{ ticket.subject | center(999999999) }}", 2, "No filter named 'center'"),
        ("{% for a in ticket.tags %}{% for b in ticket.tags %}{% for c in ticket.tags %}"
         "{% endfor %}{% endfor %}{% endfor %}", 1, "loops nest at most 2 deep"),
    ],
)  # fmt: skip
async def test_a_template_that_cannot_render_is_a_422_with_its_line(
    runtime: Runtime, client: httpx.AsyncClient, template: str, line: int, words: str
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    r = await client.post("/api/v1/macros", json=macro_json(body=template), headers=auth(lead))
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["line"] == line and problem["field"] == "body"
    assert f"at line {line}: " in problem["detail"] and words in problem["detail"]


async def test_a_template_that_fails_on_a_tickets_values_is_a_422_with_its_line(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ticket_id = await open_ticket(runtime)
    _, lead = await make_agent(runtime, role="lead", tiers=())
    body = "Dear customer,\n{{ ticket.subject + ticket.support_tier }}"
    macro = (await client.post("/api/v1/macros", json=macro_json(body=body), headers=auth(lead))).json()
    for r in [
        await client.get(f"/api/v1/tickets/{ticket_id}/macros/{macro['id']}/preview", headers=auth(lead)),
        await client.post(f"/api/v1/tickets/{ticket_id}/macros/{macro['id']}/apply", json={}, headers=auth(lead)),
    ]:
        assert r.status_code == 422, r.text
        assert r.json()["line"] == 2 and 'can only concatenate str (not "int") to str' in r.json()["detail"]
    assert len(await _trail(runtime, ticket_id)) == 2  # created, routed: nothing applied


@pytest.mark.parametrize(
    "template",
    [
        "{{ ticket.__class__ }}",
        "{{ ticket.subject.__class__.__mro__[1].__subclasses__() }}",
        "{{ ticket['__class__'] }}",
        "{{ ticket.items.__self__ }}",
        "{{ '{0.__class__}'.format(ticket) }}",
        "{{ ticket.tags.append('x') }}",
        "{{ ticket.subject.format.__globals__ }}",
        "{{ 'x' * 100000000 }}",
        "{{ 9 ** 999999 }}",
        "{% for i in range(100000) %}{% endfor %}",
        "{{ config }}{{ settings }}",
        "{{ self }}",
        "{{ lipsum() }}",
        "{{ cycler(1).__init__.__globals__ }}",
        "{{ namespace }}",
        "{% include 'web/base.html' %}",
        "{% import 'web/base.html' as x %}",
        "{{ ticket.subject | attr('__class__') }}",
    ],
)
def test_the_sandbox_reaches_nothing_beyond_the_fields_given(template: str) -> None:
    fields = {"ticket": {"subject": "s", "tags": []}, "customer": {}, "agent": {"name": "a"}}
    with pytest.raises(templating.Invalid) as refused:
        templating.render(template, fields)
    assert refused.value.status == 422


def test_a_huge_rendering_is_cut_short() -> None:
    template = "{% for a in range(1000) %}{% for b in range(1000) %}{{ ticket.subject }}{% endfor %}{% endfor %}"
    with pytest.raises(templating.Invalid, match="renders at most"):
        templating.render(template, {"ticket": {"subject": "0123456789"}})


async def test_preview_and_apply_with_every_action(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await make_customer(runtime, ref="acme", tier=1, domain="customer.example")
    ticket_id = await open_ticket(runtime, subject="Invoice is wrong")
    async with runtime.app.sessionmaker() as s:  # the helper opens tickets without a customer: link it
        from router.models.customers import Customer
        from router.models.tickets import Ticket

        ticket = await s.get(Ticket, ticket_id)
        customer = (await s.exec(select(Customer))).one()
        assert ticket is not None
        ticket.customer_id = customer.id
        await s.commit()
    agent, token = await make_agent(runtime, tiers=(1,))
    _, lead = await make_agent(runtime, role="lead", tiers=())
    body = (
        "Hello {{ customer.name }} (tier {{ customer.value_tier }}, {{ customer.value_tier_name }}),\n"
        "{{ ticket.ref }}: {{ ticket.subject }}\n"
        "{% for tag in ticket.tags %}#{{ tag }} {% endfor %}\n{{ agent.name }}"
    )
    actions = {
        "priority": "high",
        "add_tags": ["billing"],
        "escalate": {"reason": "billing team", "to_tier": 2},
    }
    macro = (
        await client.post("/api/v1/macros", json=macro_json(body=body, actions=actions), headers=auth(lead))
    ).json()
    listed = await client.get(f"/api/v1/tickets/{ticket_id}/macros", headers=auth(token))
    assert [m["id"] for m in listed.json()] == [macro["id"]]
    preview = await client.get(f"/api/v1/tickets/{ticket_id}/macros/{macro['id']}/preview", headers=auth(token))
    assert preview.status_code == 200, preview.text
    ref = (await load(runtime, ticket_id)).ref
    assert preview.json()["body"] == (
        f"Hello Acme (tier 1, strategic partner),\n{ref}: Invoice is wrong\n\n{agent.name}"
    )
    assert preview.json()["actions"] == [
        "set priority to high",
        "add tags billing",
        "escalate to tier 2: billing team",
    ]
    assert len(await _trail(runtime, ticket_id)) == 2  # a preview changes nothing

    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/macros/{macro['id']}/apply",
        json={"body": "Edited after the preview."},
        headers=auth(token),
    )
    assert r.status_code == 200, r.text
    assert r.json()["message"]["body_text"] == "Edited after the preview."
    ticket = r.json()["ticket"]
    assert (ticket["priority"], ticket["tags"], ticket["support_tier"], ticket["status"]) == (
        "high",
        ["billing"],
        2,
        "queued",
    )
    trail = await _trail(runtime, ticket_id)
    assert [e.action for e in trail[2:]] == [
        "macro_applied",
        "replied",
        "priority_changed",
        "tags_changed",
        "escalated",
    ]
    assert trail[2].data == {"macro": macro["id"], "name": "On it"}
    assert trail[-1].reason == "billing team"
    # The agent does not work tier 2: the ticket is out of their reach now.
    again = await client.post(f"/api/v1/tickets/{ticket_id}/macros/{macro['id']}/apply", json={}, headers=auth(token))
    assert again.status_code == 403


async def test_a_refused_action_applies_nothing(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime, tier=4)
    _, lead = await make_agent(runtime, role="lead", tiers=())
    actions = {"add_tags": ["x"], "escalate": {"reason": "up"}}
    macro = (await client.post("/api/v1/macros", json=macro_json(actions=actions), headers=auth(lead))).json()
    r = await client.post(f"/api/v1/tickets/{ticket_id}/macros/{macro['id']}/apply", json={}, headers=auth(lead))
    assert r.status_code == 409 and "top tier" in r.json()["detail"]
    ticket = await load(runtime, ticket_id)
    assert ticket.tags == [] and len(await _trail(runtime, ticket_id)) == 2
    async with runtime.app.sessionmaker() as s:
        assert len((await s.exec(select(Message).where(Message.ticket_id == ticket_id))).all()) == 1


async def test_status_actions_and_internal_macros(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime)
    _, lead = await make_agent(runtime, role="lead", tiers=())
    _, agent = await make_agent(runtime, tiers=(1,))
    wait = macro_json(name="Need logs", body="Please send logs.", actions={"status": "waiting_on_customer"})
    note = macro_json(name="Solved", body="Fixed by {{ agent.name }}", internal=True, actions={"status": "resolved"})
    wait_id = (await client.post("/api/v1/macros", json=wait, headers=auth(lead))).json()["id"]
    note_id = (await client.post("/api/v1/macros", json=note, headers=auth(lead))).json()["id"]
    r = await client.post(f"/api/v1/tickets/{ticket_id}/macros/{wait_id}/apply", json={}, headers=auth(agent))
    assert r.status_code == 200 and r.json()["ticket"]["status"] == Status.waiting_on_customer
    assert r.json()["message"]["direction"] == "outbound"
    r = await client.post(f"/api/v1/tickets/{ticket_id}/macros/{note_id}/apply", json={}, headers=auth(agent))
    assert r.status_code == 200 and r.json()["ticket"]["status"] == Status.resolved
    assert r.json()["message"]["direction"] == "note"


async def test_an_agent_never_uses_a_macro_on_a_ticket_of_another_tier(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ticket_id = await open_ticket(runtime, tier=2)
    mine = await open_ticket(runtime, tier=1)
    _, lead = await make_agent(runtime, role="lead", tiers=())
    _, agent = await make_agent(runtime, tiers=(1,))
    macro = (await client.post("/api/v1/macros", json=macro_json(), headers=auth(lead))).json()
    tier_two = (await client.post("/api/v1/macros", json=macro_json(name="t2", tiers=[2]), headers=auth(lead))).json()
    base = f"/api/v1/tickets/{ticket_id}"
    assert (await client.get(f"{base}/macros", headers=auth(agent))).status_code == 403
    assert (await client.get(f"{base}/macros/{macro['id']}/preview", headers=auth(agent))).status_code == 403
    r = await client.post(f"{base}/macros/{macro['id']}/apply", json={}, headers=auth(agent))
    assert r.status_code == 403
    # A macro of another tier is not there for a ticket of this one.
    r = await client.get(f"/api/v1/tickets/{mine}/macros/{tier_two['id']}/preview", headers=auth(agent))
    assert r.status_code == 404
    r = await client.post(f"/api/v1/tickets/{mine}/macros/{tier_two['id']}/apply", json={}, headers=auth(agent))
    assert r.status_code == 404
    assert len(await _trail(runtime, ticket_id)) == 2
