"""Assemble the application context: database (migrated), Redis pool, tier queue, rulebook, templates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from arq import create_pool
from arq.connections import ArqRedis
from redis.exceptions import RedisError

from queues.connection import reconnect, redis_settings
from queues.counters import RedisCounters
from queues.credentials import RedisCredentialsEpoch
from queues.dispatch import RedisEffectSink
from queues.live_bus import RedisLiveBus
from queues.names import ROUTING_QUEUE
from queues.serialization import deserialize, serialize
from queues.tier_queue import RedisTierQueue
from router import logs
from router.agents.tokens import TokenLookup
from router.assignment.settings import AssignmentProvider
from router.audit.keys import SESSION_KEY as AUDIT_KEYRING
from router.audit.keys import load_keyring
from router.context import AppContext
from router.customers.policy import TierPolicyProvider
from router.db import make_engine, make_sessionmaker, migrate
from router.rendering import make_templates
from router.reports import facts
from router.routing.rulebook import RulebookProvider
from router.settings import Settings
from router.sla.policies import SESSION_KEY, SlaPolicyProvider
from router.storage import BlobStore
from router.unit_of_work import transaction
from router.webhooks import config as webhooks_config
from router.webhooks import subscriptions

log = structlog.get_logger(__name__)


@dataclass
class Runtime:
    app: AppContext
    pool: ArqRedis


async def create_arq_pool(settings: Settings) -> ArqRedis:
    return await create_pool(
        redis_settings(settings),
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=ROUTING_QUEUE,
    )


@asynccontextmanager
async def open_runtime(settings: Settings, *, run_migrations: bool = True) -> AsyncIterator[Runtime]:
    url = settings.effective_database_url
    logs.configure()
    facts.install()  # every session of the process keeps the report's per-ticket facts current
    keyring = load_keyring(settings)  # the audit chain's HMAC key, from outside the database
    if run_migrations:
        await asyncio.to_thread(migrate, url, audit_keyring=keyring)
    tier_policy = TierPolicyProvider(settings.tier_policy)  # first: the rulebook reads tier names on its scale
    rulebook = RulebookProvider(settings.rulebook)
    webhooks = webhooks_config.load(settings.webhooks)  # a broken file stops the start, with its location
    sla_policies = SlaPolicyProvider(settings.sla_policies)
    engine = make_engine(url)
    pool = await create_arq_pool(settings)
    try:
        app = AppContext(
            settings=settings,
            engine=engine,
            sessionmaker=make_sessionmaker(engine, info={SESSION_KEY: sla_policies, AUDIT_KEYRING: keyring}),
            effects=RedisEffectSink(pool),
            tier_queue=RedisTierQueue(pool),
            rulebook=rulebook,
            tier_policy=tier_policy,
            templates=make_templates(),
            blobs=BlobStore(settings.blob_dir),
            webhooks=webhooks,
            counters=RedisCounters(pool),
            live=RedisLiveBus(pool),
            tokens=TokenLookup(RedisCredentialsEpoch(pool)),
            assignment=AssignmentProvider(settings.assignment),
        )
        app.effects = RedisEffectSink(
            pool,
            mail_enabled=lambda: bool(app.settings.smtp_url),
            event_wanted=lambda t: app.webhooks.wants(t),
            reconnect=lambda: reconnect(pool, app.settings),
            push_tiers=lambda: app.assignment.push_tiers(),
        )
        if webhooks.subscriptions:  # a subscription new to this install hears the events from now on only
            async with transaction(app.sessionmaker, app.effects) as session:
                await subscriptions.first_seen(session, webhooks)
        try:
            yield Runtime(app, pool)
        finally:
            if app.intake is not None:
                await app.intake.aclose()
    finally:
        await pool.aclose()
        await engine.dispose()


@asynccontextmanager
async def open_app_context(settings: Settings) -> AsyncIterator[AppContext]:
    """The ``router.app.ContextFactory`` for the API."""
    async with open_runtime(settings) as runtime:
        yield runtime.app


async def keep_effects_applied(runtime: Runtime, *, every: float = 1.0) -> None:
    """For the long-lived processes that share Redis without running workers (the SMTP listener, the IMAP
    poller): once effects were lost to an outage, wait for Redis to be back and catch up from the database.
    Runs until cancelled."""
    from queues.reconcile import catch_up

    sink = runtime.app.effects
    assert isinstance(sink, RedisEffectSink)
    while True:
        await asyncio.sleep(every)
        if not sink.behind or not await reconnect(runtime.pool, runtime.app.settings):
            continue
        sink.behind = False  # before reading the database: effects lost meanwhile set it again
        try:
            await catch_up(runtime.app, runtime.pool)
        except (RedisError, OSError) as exc:
            sink.behind = True
            log.warning("effects_catch_up_failed", error=repr(exc))
