"""Demo data: customers in all four value tiers, agents for every support tier, the example knowledge base,
~200 varied tickets."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.agents import service as agents
from router.customers import service as customers
from router.effects import EffectSink
from router.intake import service as intake
from router.kb import files as kb_files
from router.kb import importing as kb_importing
from router.kb import service as kb_service
from router.macros import service as macros
from router.macros.schemas import EscalateAction, MacroActions, MacroIn
from router.models.agents import Agent
from router.models.customers import Customer
from router.models.macros import Macro
from router.models.tickets import Status, Ticket
from router.tickets import service as tickets

CUSTOMERS = [
    ("demo-globex", "Globex Corporation", 1, "globex.example", {"plan": "enterprise", "revenue": 1_200_000}),
    ("demo-initech", "Initech", 1, "initech.example", {"plan": "enterprise", "revenue": 800_000}),
    ("demo-umbrella", "Umbrella Health", 2, "umbrella.example", {"plan": "business", "revenue": 150_000}),
    ("demo-hooli", "Hooli", 2, "hooli.example", {"plan": "business", "revenue": 90_000}),
    ("demo-vandelay", "Vandelay Industries", 3, "vandelay.example", {"plan": "team", "revenue": 12_000}),
    ("demo-pied", "Pied Piper", 3, "piedpiper.example", {"plan": "team", "revenue": 9_000}),
    ("demo-kramerica", "Kramerica", 4, "kramerica.example", {"plan": "starter", "revenue": 600}),
    ("demo-dunder", "Dunder Mifflin", 4, "dundermifflin.example", {"plan": "starter", "revenue": 900}),
]

AGENTS = [
    ("Ada Self-Service", "ada@support.example", "agent", [0]),
    ("Frank Frontline", "frank@support.example", "agent", [1]),
    ("Fiona Frontline", "fiona@support.example", "agent", [0, 1]),
    ("Tess Technical", "tess@support.example", "agent", [2]),
    ("Eli Expert", "eli@support.example", "agent", [3]),
    ("Vera Vendor-Desk", "vera@support.example", "agent", [4]),
    ("Lena Lead", "lena@support.example", "lead", [0, 1, 2, 3, 4]),
    ("Adam Admin", "adam@support.example", "admin", [0, 1, 2, 3, 4]),
]

SUBJECTS = [
    ("How do I reset my password?", "I forgot my password and the reset mail never arrives.", None),
    ("Invoice for October is wrong", "We were charged twice on the last invoice, please refund.", None),
    (
        "API returns 500 error on /orders",
        "Since this morning every call fails with a 500 error and a stack trace.",
        "high",
    ),
    ("Production down - nothing loads", "Our whole site is down for all users. This is an outage.", "urgent"),
    ("Where can I find the documentation for exports?", "How to export all contacts to CSV?", None),
    (
        "Payment gateway failing for card payments",
        "The payment gateway returns errors, payments failed.",
        "high",
    ),
    ("SSO login loops", "After the SSO certificate renewal users loop on login with an error.", None),
    ("Feature request: dark mode", "Would love a dark mode option in the dashboard.", "low"),
    (
        "Data loss after import",
        "Half of our records are gone after yesterday's import, we lost data.",
        "urgent",
    ),
    ("Webhook deliveries timing out", "Your webhook calls to our endpoint time out since the upgrade.", None),
    ("Question about subscription seats", "Can we add five more seats to our subscription?", None),
    (
        "SMS delivery not delivered in Brazil",
        "SMS delivery through your carrier failed for Brazilian numbers.",
        None,
    ),
    ("Cannot upload attachments", "The upload button does nothing in Firefox.", None),
    ("Need help with onboarding", "How can I invite my team?", None),
]

PEOPLE = ["alex", "sam", "kim", "jo", "pat", "robin", "chris", "lee"]


#: Canned replies a lead would start with: name, template, internal note or not, actions, tiers (empty: all).
MACROS: tuple[MacroIn, ...] = (
    MacroIn(
        name="Password reset steps",
        body=(
            "Hello,\n\nthanks for writing to us about {{ ticket.subject }}. You can reset your password from the "
            'sign-in page: choose "Forgot password" and follow the link we mail you (it is valid for an hour).'
            "\n\nIf the mail does not arrive, reply to this message and we will reset it for you.\n\n"
            "{{ agent.name }}\n{% if customer.known %}Support for {{ customer.name }}{% endif %}"
        ),
        actions=MacroActions(status=Status.waiting_on_customer, add_tags=["password"]),
        tiers=[0, 1],
    ),
    MacroIn(
        name="Ask for logs",
        body=(
            "Hello,\n\nto find out what happened we need the logs from around the time of the problem. Please "
            "attach the application log and tell us the time (with its time zone) when you last saw it.\n\n"
            "Your reference is {{ ticket.ref }}.\n\n{{ agent.name }}"
        ),
        actions=MacroActions(status=Status.waiting_on_customer, add_tags=["needs-logs"]),
    ),
    MacroIn(
        name="Hand to engineering",
        body=(
            'Reproduced on {{ ticket.product or "the product" }}; handing over to engineering with the steps '
            "above. Customer tier: {{ ticket.customer_tier_name }}."
        ),
        internal=True,
        actions=MacroActions(
            priority="high", escalate=EscalateAction(reason="Reproduced: needs engineering", to_tier=3)
        ),
        tiers=[2],
    ),
)


@dataclass(frozen=True)
class DemoResult:
    customers: int
    agents: int
    tickets: int
    lead_token: str
    lead_email: str
    articles: int = 0


async def load_articles(session: AsyncSession) -> int:
    """The example knowledge base (``rules/kb/``): the articles whose slugs are not taken yet (a lead's
    edits to a demo article survive another ``tierroute demo``)."""
    taken = {a.slug for a in await kb_service.all_articles(session)}
    missing = [r for r in kb_files.read_folder(kb_files.EXAMPLE_FOLDER) if r.article.slug not in taken]
    return (await kb_importing.import_articles(session, missing)).created


async def load(session: AsyncSession, sink: EffectSink, *, tickets_wanted: int = 200, seed: int = 7) -> DemoResult:
    """Idempotent: customers and agents are created once; tickets only when there are none yet."""
    rng = random.Random(seed)
    for ref, name, tier, domain, attrs in CUSTOMERS:
        if await customers.find_by_ref(session, ref) is None:
            await customers.create_customer(
                session, external_ref=ref, name=name, tier=tier, domains=[domain], attributes=attrs
            )
    new_agents = 0
    for name, email, role, tiers in AGENTS:
        if (await session.exec(select(Agent).where(Agent.email == email))).first() is None:
            await agents.add_agent(session, name=name, email=email, role=role, tiers=tiers, password="demo")
            new_agents += 1
    lead = (await session.exec(select(Agent).where(Agent.email == "lena@support.example"))).one()
    token = await agents.issue_token(session, lead, label="demo")
    for macro in MACROS:
        if (await session.exec(select(Macro.id).where(Macro.name == macro.name))).first() is None:
            await macros.create(session, lead, macro)
    articles = await load_articles(session)  # before the tickets: tier 0's suggestions come from them
    made = 0
    if (await session.exec(select(Ticket.id).limit(1))).first() is None:
        domains = [(c[3], c[2]) for c in CUSTOMERS] + [("gmail.example", 3), ("unknown.example", 3)]
        for i in range(tickets_wanted):
            subject, body, hint = rng.choice(SUBJECTS)
            domain, _tier = rng.choice(domains)
            await intake.submit(
                session,
                sink,
                source="demo",
                delivery_id=f"demo-{i}",
                subject=subject,
                body=body,
                requester_email=f"{rng.choice(PEOPLE)}@{domain}",
                customer_ref=None,
                priority_hint=hint,
                channel=rng.choice(["email", "web", "api", "chat"]),
                default_customer_tier=3,
                actor=tickets.Actor.system(),
            )
            made += 1
    total_customers = len((await session.exec(select(Customer.id))).all())
    return DemoResult(total_customers, new_agents, made, token, lead.email, articles)
