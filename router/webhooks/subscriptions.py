"""When each subscription was first seen on this install: it receives the events created from then on.

A subscription is its name and URL (another URL is another receiver). The first process that loads a
configuration naming it records the moment it loaded that configuration; events created before that
moment are history the subscriber never asked for, and are not sent to it (they stay in the outbox).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.db import insert_ignoring
from router.models.webhooks import WebhookSubscription
from router.webhooks.config import Endpoint, WebhooksConfig

TABLE = WebhookSubscription.__table__  # type: ignore[attr-defined]


def subscription_key(endpoint: Endpoint) -> str:
    return hashlib.sha256(f"{endpoint.name}\n{endpoint.url}".encode()).hexdigest()


async def first_seen(session: AsyncSession, config: WebhooksConfig) -> dict[str, datetime]:
    """Per subscription name of ``config``, the moment it was first seen; those never seen before are
    recorded as seen when this process loaded ``config`` (a concurrent first sighting keeps the earlier row)."""
    if not config.subscriptions:
        return {}
    keys = {subscription_key(s): s for s in config.subscriptions}
    query = select(WebhookSubscription).where(col(WebhookSubscription.key).in_(list(keys)))
    found = {row.key: row.first_seen_at for row in (await session.exec(query)).all()}
    missing = sorted(k for k in keys if k not in found)
    if missing:
        rows = [
            {"key": k, "name": keys[k].name, "url": keys[k].url[:2000], "first_seen_at": config.loaded_at}
            for k in missing
        ]
        await insert_ignoring(session, TABLE, rows)
        found = {row.key: row.first_seen_at for row in (await session.exec(query)).all()}
    return {keys[k].name: at for k, at in found.items()}
