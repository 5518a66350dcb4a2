"""A notification as an email to its agent, the text from ``templates/messages/``."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from jinja2 import Environment

from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.notifications import Notification
from router.outbound.compose import mail_domain
from router.settings import Settings

#: The template and subject of each notification kind.
TEMPLATES = {
    "sla_breach": "messages/lead_sla_breach.txt",
    "customer_at_risk": "messages/lead_customer_at_risk.txt",
}
#: Every other kind: its ``payload["text"]`` in a short mail.
GENERAL_TEMPLATE = "messages/notification.txt"
SUBJECTS = {
    "sla_breach": "SLA breached: {ref} ({clock}, tier {support_tier})",
    "assigned": "Assigned to you: {ref}",
    "requester_replied": "Requester replied: {ref}",
    "sla_warning": "SLA warning: {ref} ({clock})",
    "my_sla_breach": "SLA breached on your ticket: {ref} ({clock})",
    "breach_predicted": "Breach predicted: {ref} (tier {support_tier})",
    "customer_at_risk": "Customer at risk: {name} (tier {tier})",
}


def compose(notification: Notification, agent: Agent, *, settings: Settings, templates: Environment) -> EmailMessage:
    """Plain text, marked automatic (RFC 3834), with a Message-ID that a resend after a crash repeats."""
    payload = notification.payload
    clock = str(payload.get("clock", "")).replace("_", " ")
    mail = EmailMessage()
    name, address = parseaddr(settings.mail_from)
    mail["From"] = Address(display_name=name, addr_spec=address) if name else address
    mail["To"] = agent.email
    subject = SUBJECTS.get(notification.kind, "Notification: {ref}")
    mail["Subject"] = " ".join(subject.format(**{**payload, "clock": clock}).split())
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = f"<tierroute.n{notification.id}@{mail_domain(settings)}>"
    mail["Auto-Submitted"] = "auto-generated"
    if "customer_id" in payload:
        mail["X-Tierroute-Customer"] = str(payload["customer_id"])
    if "ref" in payload:
        mail["X-Tierroute-Ticket"] = str(payload["ref"])
    template = templates.get_template(TEMPLATES.get(notification.kind, GENERAL_TEMPLATE))
    mail.set_content(template.render(agent=agent, notification=notification, payload=payload, clock=clock))
    return mail
