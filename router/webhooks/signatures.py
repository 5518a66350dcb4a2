"""Standard Webhooks signatures: verify what senders sign, sign what we send (``standardwebhooks``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from router.errors import NotAuthenticated
from router.models.columns import utcnow

#: Ids we accept as a delivery id (and store in the idempotency ledger).
MAX_ID_LENGTH = 255


class BadSignature(NotAuthenticated):
    title = "Bad signature"


def verify(secrets: tuple[str, ...], body: bytes, headers: Mapping[str, str]) -> str:
    """Check ``webhook-signature`` against each of the source's secrets (rotation); returns the webhook id.

    The library enforces the 5-minute timestamp tolerance both ways (replays and clock skew). Anything
    malformed is an authentication failure, never a server error.
    """
    wanted = {k.lower(): v for k, v in headers.items() if k.lower().startswith("webhook-")}
    missing = [h for h in ("webhook-id", "webhook-timestamp", "webhook-signature") if not wanted.get(h)]
    if missing:
        raise BadSignature(f"missing header(s): {', '.join(missing)}")
    msg_id = wanted["webhook-id"]
    if len(msg_id) > MAX_ID_LENGTH or not msg_id.isprintable():
        raise BadSignature(f"webhook-id must be at most {MAX_ID_LENGTH} printable characters")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadSignature("the body is not UTF-8, so it cannot carry a valid signature") from exc
    reason = "no signature matches"
    for secret in secrets:
        try:
            Webhook(secret).verify(text, wanted, json_parse=False)
            return msg_id
        except WebhookVerificationError as exc:
            reason = str(exc)
            if "timestamp" in reason.lower() or "headers" in reason.lower():
                break  # the same for every secret
        except (ValueError, TypeError) as exc:  # a malformed signature list ("v1" without a comma, bad base64)
            reason = f"malformed webhook-signature: {exc}"
            break
    raise BadSignature(f"signature verification failed: {reason}")


def sign(secret: str, msg_id: str, body: str, at: datetime | None = None) -> dict[str, str]:
    """Headers for a payload we send: the receiver verifies them with any Standard Webhooks library."""
    moment = at or utcnow()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, moment, body),
        "content-type": "application/json",
    }
