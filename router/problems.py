"""RFC 9457 problem+json responses for domain errors, validation errors and oversized bodies."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from router.errors import DomainError

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger(__name__)


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"


def problem(
    status: int, title: str, detail: str, instance: str | None = None, *, retry_after: int | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://tierroute.dev/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, request.url.path, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e["loc"]), "message": e["msg"], "type": e["type"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid input", detail, request.url.path, errors=errors)

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database_unavailable", path=request.url.path, error=str(exc.orig))
        detail = "the database is not available right now (nothing was changed); retry shortly"
        return problem(503, "Service unavailable", detail, request.url.path, retry_after=5)

    @app.exception_handler(SATimeoutError)
    @app.exception_handler(RedisTimeoutError)
    async def _busy(request: Request, exc: Exception) -> JSONResponse:
        log.warning("backend_timeout", path=request.url.path, error=repr(exc))
        return problem(
            503, "Service unavailable", "the service is busy right now; retry shortly", request.url.path, retry_after=5
        )

    @app.exception_handler(RedisConnectionError)
    async def _redis_unavailable(request: Request, exc: RedisConnectionError) -> JSONResponse:
        log.warning("redis_unavailable", path=request.url.path, error=str(exc))
        detail = "the queue store is not available right now; retry shortly"
        return problem(503, "Service unavailable", detail, request.url.path, retry_after=5)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled_error", path=request.url.path, error=repr(exc), exc_info=exc)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged", request.url.path)

    app.add_middleware(UnexpectedErrors, handlers=lambda: app.exception_handlers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {400: "Bad request", 404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
        return problem(exc.status_code, title, str(exc.detail), request.url.path)


async def require_json(request: Request) -> None:
    """A dependency for routes that take a JSON body: anything else is a 415, not a confusing 422."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType(f"send the body as application/json (got {content_type or 'no content type'})")


class UnexpectedErrors:
    """An unexpected exception answered inside the app, by the app's ``Exception`` handler, so the server
    keeps the keep-alive connection: Starlette's outermost handler re-raises after answering, and uvicorn
    then closes the connection (issue 16 item 19). Added first, so it sits inside the other middleware
    (the request timer counts the 500); an exception after the response started still propagates."""

    def __init__(self, app: ASGIApp, handlers: Callable[[], Mapping[Any, Callable[..., Any]]]) -> None:
        self.app = app
        #: The app's handlers, read at the time of the error (a handler may be installed after this).
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            handler = self.handlers().get(Exception)
            if started or handler is None:
                raise
            response = await handler(Request(scope, receive), exc)
            await response(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` (uvicorn and Starlette set no limit of their own)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        per_path: dict[str, int] | None = None,
        per_pattern: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        #: Larger limits for the few routes that take big bodies (raw email; ``per_pattern``: paths with ids,
        #: as regular expressions matched against the whole path: replies with files).
        self.per_path = per_path or {}
        self.per_pattern = [(re.compile(p), limit) for p, limit in (per_pattern or {}).items()]

    def limit_of(self, path: str) -> int:
        if path in self.per_path:
            return self.per_path[path]
        return next((limit for pattern, limit in self.per_pattern if pattern.fullmatch(path)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope.get("path", ""))
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0
        too_large = False
        started = False

        async def limited() -> Message:
            # Past the limit the app sees a disconnect; whatever it answers is dropped for our 413.
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited, guarded_send)
        if too_large and not started:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        detail = f"request body is larger than the limit of {limit} bytes"
        response = problem(413, "Payload too large", detail, scope.get("path"))
        await response(scope, receive, send)
