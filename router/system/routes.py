"""Liveness, readiness (database, Redis, rulebook, tier policy) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from router.deps import ContextDep
from router.metrics import QUEUE_DEPTH
from router.openapi import answer
from rules.vocabulary import SUPPORT_TIERS

api = APIRouter(tags=["system"])


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


@api.get("/metrics", response_class=PlainTextResponse)
async def metrics(ctx: ContextDep) -> Response:
    for tier in SUPPORT_TIERS:
        try:
            QUEUE_DEPTH.labels(str(tier)).set(await ctx.tier_queue.depth(tier))
        except Exception:
            break
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
