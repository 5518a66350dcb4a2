"""Errors on ``/ui`` paths become HTML pages (or a redirect to sign-in); the JSON API keeps problem+json."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from router.errors import DomainError
from router.web.render import page

PREFIX = "/ui"
LOGIN_PATH = f"{PREFIX}/login"


def _is_web(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(f"{PREFIX}/")


def safe_next(target: Any) -> str:
    text = str(target or "")
    return text if text.startswith(f"{PREFIX}/") and not text.startswith("//") else f"{PREFIX}/"


def _render(request: Request, status: int, title: str, detail: str, extra: dict[str, Any]) -> Response:
    ctx = request.app.state.ctx
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else {}
    if status == 401 and request.url.path != LOGIN_PATH:
        target = f"{LOGIN_PATH}?next={quote(safe_next(extra.get('next')), safe='/')}"
        if request.headers.get("hx-request"):
            # htmx would swap the sign-in page into a fragment; ask it to navigate instead.
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if request.url.path == LOGIN_PATH and status in (401, 429):
        # The form posts to ``/ui/login?next=...``, so the target survives a failed attempt.
        return page(
            request, ctx, "web/login.html", status=status, headers=headers, error=detail,
            email=str(extra.get("email", "")), next=safe_next(request.query_params.get("next")),
        )  # fmt: skip
    return page(request, ctx, "web/error.html", status=status, headers=headers, title=title, detail=detail)


def install(app: FastAPI) -> None:
    """Wrap the app's handlers: ``/ui`` requests get pages, everything else what it got before."""
    previous = dict(app.exception_handlers)

    def fallback(kind: type[Exception]) -> Any:
        return previous[kind]

    async def domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if not _is_web(request):
            return await fallback(DomainError)(request, exc)
        return _render(request, exc.status, exc.title, exc.detail, exc.extra)

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not _is_web(request):
            return await fallback(RequestValidationError)(request, exc)
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return _render(request, 422, "Please check the form", detail, {})

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not _is_web(request):
            return await fallback(StarletteHTTPException)(request, exc)
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return _render(request, exc.status_code, title, str(exc.detail), {})

    app.add_exception_handler(DomainError, domain)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
