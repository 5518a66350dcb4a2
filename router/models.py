"""Every table, imported in one place so metadata and Alembic see them all."""

from sqlmodel import SQLModel

from router.agents.models import Agent, ApiToken
from router.audit.models import AuditEvent
from router.customers.models import Customer, CustomerContact, CustomerDomain, CustomerTierChange
from router.events.models import OutboxEvent
from router.intake.models import Delivery, InboundMail
from router.reports.models import (
    DigestMail,
    ReportDay,
    ReportDayPath,
    ReportDayRule,
    ReportDirtyDay,
    ReportTicket,
    ReportWeekHistogram,
)
from router.sla.models import SlaClock
from router.tickets.models import Attachment, Message, Ticket
from router.webhooks.models import WebhookDelivery

metadata = SQLModel.metadata

__all__ = [
    "Agent",
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "Customer",
    "CustomerContact",
    "CustomerDomain",
    "CustomerTierChange",
    "Delivery",
    "DigestMail",
    "InboundMail",
    "Message",
    "OutboxEvent",
    "ReportDay",
    "ReportDayPath",
    "ReportDayRule",
    "ReportDirtyDay",
    "ReportTicket",
    "ReportWeekHistogram",
    "SlaClock",
    "Ticket",
    "WebhookDelivery",
    "metadata",
]
