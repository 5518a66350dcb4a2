"""POST one stored delivery, signed, to its endpoint (httpx)."""

from __future__ import annotations

import httpx

from router.webhooks.config import Endpoint
from router.webhooks.models import WebhookDelivery
from router.webhooks.signatures import sign

USER_AGENT = "tierroute-webhooks/1"


async def post(
    client: httpx.AsyncClient, endpoint: Endpoint, delivery: WebhookDelivery
) -> tuple[int | None, str | None]:
    """Send the delivery; returns (HTTP status, error). Any 2xx is success; redirects are not followed."""
    headers = sign(endpoint.secrets[0], delivery.msg_id, delivery.body)
    headers["user-agent"] = USER_AGENT
    try:
        response = await client.post(
            delivery.url, content=delivery.body.encode(), headers=headers, timeout=endpoint.timeout_seconds
        )
    except httpx.HTTPError as exc:
        return None, f"{exc.__class__.__name__}: {exc}"[:500] or exc.__class__.__name__
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"
