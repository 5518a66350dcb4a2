"""Liveness, readiness (database, Redis, rulebook, tier policy) and Prometheus metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from router.assignment import figures as assignment_figures
from router.context import AppContext
from router.deps import ContextDep
from router.metrics import AGENT_OPEN, AGENT_UTILISATION, ASSIGNMENT_LATENCY, ASSIGNMENT_OFFERS, QUEUE_DEPTH
from router.models.columns import utcnow
from router.openapi import answer
from rules.vocabulary import SUPPORT_TIERS

api = APIRouter(tags=["system"])
log = structlog.get_logger(__name__)


@api.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@api.get("/readyz", responses=answer(503, "the database or Redis does not answer", "application/json"))
async def readyz(ctx: ContextDep) -> JSONResponse:
    """Ready when the database and Redis answer; a refused rulebook or tier policy change is reported, not fatal."""
    checks: dict[str, Any] = {}
    try:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        checks["redis"] = "ok" if await ctx.tier_queue.ping() else "error"
    except Exception as exc:
        checks["redis"] = f"error: {exc.__class__.__name__}"
    checks["rulebook"] = {"version": ctx.rulebook.current().version, "refused_change": ctx.rulebook.error}
    policy = ctx.tier_policy.current()
    checks["tier_policy"] = {
        "version": policy.version,
        "best": policy.scale.best,
        "refused_change": ctx.tier_policy.error,
    }
    ready = checks["database"] == "ok" and checks["redis"] == "ok"
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


async def _assignment_metrics(ctx: AppContext) -> None:
    now = utcnow()
    async with ctx.sessionmaker() as session:
        found = await assignment_figures.figures(session, now - timedelta(hours=1), now)
    for t in found.by_tier:
        tier = str(t.tier)
        for state in ("accepted", "declined", "expired", "withdrawn", "pending"):
            ASSIGNMENT_OFFERS.labels(tier, state).set(getattr(t, state))
        for q, value in (("0.5", t.latency_p50), ("0.95", t.latency_p95)):
            if value is not None:
                ASSIGNMENT_LATENCY.labels(tier, q).set(value)
    for u in found.utilisation:
        AGENT_OPEN.labels(str(u.agent_id), str(u.tier)).set(u.open)
        if u.utilisation is not None:
            AGENT_UTILISATION.labels(str(u.agent_id), str(u.tier)).set(u.utilisation)


@api.get("/metrics", response_class=PlainTextResponse)
async def metrics(ctx: ContextDep) -> Response:
    for tier in SUPPORT_TIERS:
        try:
            QUEUE_DEPTH.labels(str(tier)).set(await ctx.tier_queue.depth(tier))
        except Exception:
            break
    try:
        await _assignment_metrics(ctx)
    except Exception as exc:  # the database is away: the other figures still answer
        log.warning("assignment_metrics_failed", error=repr(exc))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
