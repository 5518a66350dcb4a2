"""POST one stored delivery, signed, to its endpoint (httpx)."""

from __future__ import annotations

import asyncio

import httpx

from router.models.webhooks import WebhookDelivery
from router.webhooks.config import Endpoint
from router.webhooks.signatures import sign

USER_AGENT = "tierroute-webhooks/1"
#: How much of an error answer is kept for the record.
ERROR_BODY_BYTES = 200


async def post(
    client: httpx.AsyncClient, endpoint: Endpoint, delivery: WebhookDelivery
) -> tuple[int | None, str | None]:
    """Send the delivery; returns (HTTP status, error). Any 2xx is success; redirects are not followed.

    ``timeout_seconds`` bounds the whole attempt (a server dripping bytes cannot hold the job), and only
    the first bytes of the answer are read.
    """
    headers = sign(endpoint.secrets[0], delivery.msg_id, delivery.body)
    headers["user-agent"] = USER_AGENT
    try:
        async with asyncio.timeout(endpoint.timeout_seconds):
            request = client.build_request("POST", delivery.url, content=delivery.body.encode(), headers=headers)
            response = await client.send(request, stream=True)
            try:
                head = b""
                async for chunk in response.aiter_raw():
                    head += chunk
                    if len(head) >= ERROR_BODY_BYTES:
                        break
            finally:
                await response.aclose()
    except TimeoutError:
        return None, f"no complete answer within {endpoint.timeout_seconds:g} s"
    except httpx.HTTPError as exc:
        return None, (f"{exc.__class__.__name__}: {exc}"[:500] or exc.__class__.__name__)
    if 200 <= response.status_code < 300:
        return response.status_code, None
    text = head[:ERROR_BODY_BYTES].decode("utf-8", "replace")
    return response.status_code, f"HTTP {response.status_code}: {text}"
