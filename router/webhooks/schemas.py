"""Webhook shapes of the JSON API."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, field_validator


class WebhookAccepted(BaseModel):
    #: ``created``, ``commented``, ``closed``, ``reopened``, ``updated`` or ``unchanged``.
    outcome: str
    ticket_id: int
    ticket_ref: str
    #: True when this ``webhook-id`` was seen before: nothing changed this time.
    duplicate: bool


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    #: The event's ticket, or its customer for ``customer.*`` events.
    ticket_id: int | None
    customer_id: int | None = None
    endpoint_kind: str
    endpoint: str
    url: str
    msg_id: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None

    @field_validator("url")
    @classmethod
    def _without_secrets(cls, value: str) -> str:
        """Incoming-webhook URLs carry secrets in their credentials and query: show scheme, host and path."""
        parts = urlsplit(value)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
