"""Signing with the ``standardwebhooks`` library itself, and small configuration builders."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

from queues.runtime import Runtime
from router.webhooks.config import WebhooksConfig, parse


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signed(
    secret: str,
    payload: Any,
    *,
    msg_id: str | None = None,
    at: datetime | None = None,
    body: str | None = None,
) -> tuple[str, dict[str, str]]:
    """Body and headers exactly as a conforming sender produces them."""
    text = body if body is not None else json.dumps(payload)
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    moment = at or datetime.now(UTC)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, moment, text),
        "content-type": "application/json",
    }
    return text, headers


def configure(runtime: Runtime, yaml_text: str) -> WebhooksConfig:
    config = parse(yaml_text, "<test>")
    runtime.app.webhooks = config
    return config


MONITORING = """
sources:
  monitoring:
    secrets: [{secret}]
    channel: monitoring
    rate_limit: {{requests: {limit}, per_seconds: 60}}
    mapping:
      event: {{path: status, map: {{firing: create, resolved: close}}}}
      external_id: groupKey
      subject:
        template: "[{{{{commonLabels.severity}}}}] {{{{commonLabels.alertname}}}} on {{{{commonLabels.instance}}}}"
      body: commonAnnotations.description
      requester: {{value: alerts@monitoring.example}}
      priority: {{path: commonLabels.severity, map: {{critical: urgent, warning: high}}, default: normal}}
      service: commonLabels.service
      tags: {{value: [alert]}}
  webform:
    secrets: [{secret}]
    channel: webform
    mapping:
      subject: form.topic
      body: form.message
      requester: form.email
      customer_ref: form.account
"""


def alert(status: str = "firing", key: str = "disk-full/db-1", severity: str = "critical") -> dict[str, Any]:
    """An Alertmanager-style notification."""
    return {
        "version": "4",
        "status": status,
        "groupKey": key,
        "commonLabels": {"alertname": "DiskFull", "instance": "db-1", "severity": severity, "service": "api"},
        "commonAnnotations": {"description": "Disk usage above 95% on db-1 for 10 minutes."},
    }
