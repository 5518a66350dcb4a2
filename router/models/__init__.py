"""Every table, imported in one place so metadata and Alembic see them all."""

from sqlmodel import SQLModel

from router.models.admin import AdminEvent
from router.models.agents import Agent, ApiToken, WebSession
from router.models.assignment import AssignmentOffer
from router.models.audit import AuditEvent
from router.models.claims import ClaimKey
from router.models.customers import (
    Customer,
    CustomerAtRisk,
    CustomerContact,
    CustomerDomain,
    CustomerMetric,
    CustomerTierChange,
    CustomerTierProposal,
    TierReviewRecord,
    TierReviewRun,
)
from router.models.events import OutboxEvent
from router.models.forecast import BreachPrediction
from router.models.intake import Delivery, InboundMail
from router.models.kb import Article, ArticleVersion
from router.models.macros import Macro
from router.models.notifications import Notification, NotificationPreference
from router.models.reports import (
    DigestMail,
    ReportDay,
    ReportDayPath,
    ReportDayRule,
    ReportDirtyDay,
    ReportTicket,
    ReportWeekHistogram,
)
from router.models.self_service import KbLinkUse, KbSuggestion
from router.models.sla import SlaClock
from router.models.tickets import Attachment, Message, Ticket
from router.models.webhooks import WebhookDelivery, WebhookSubscription
from router.models.workspace import RecentTicket, SavedView

metadata = SQLModel.metadata

__all__ = [
    "AdminEvent",
    "Agent",
    "ApiToken",
    "Article",
    "ArticleVersion",
    "AssignmentOffer",
    "Attachment",
    "AuditEvent",
    "BreachPrediction",
    "ClaimKey",
    "Customer",
    "CustomerAtRisk",
    "CustomerContact",
    "CustomerDomain",
    "CustomerMetric",
    "CustomerTierChange",
    "CustomerTierProposal",
    "Delivery",
    "DigestMail",
    "InboundMail",
    "KbLinkUse",
    "KbSuggestion",
    "Macro",
    "Message",
    "Notification",
    "NotificationPreference",
    "OutboxEvent",
    "RecentTicket",
    "ReportDay",
    "ReportDayPath",
    "ReportDayRule",
    "ReportDirtyDay",
    "ReportTicket",
    "ReportWeekHistogram",
    "SavedView",
    "SlaClock",
    "Ticket",
    "TierReviewRecord",
    "TierReviewRun",
    "WebSession",
    "WebhookDelivery",
    "WebhookSubscription",
    "metadata",
]
