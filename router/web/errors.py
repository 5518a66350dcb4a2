"""Failed UI requests become HTML pages with the navigation bar (or a redirect to sign-in); the JSON API and
JSON clients keep problem+json.

A UI request is one under ``/ui``, or one for a page outside it (``/reports``) from a client that accepts
HTML (a browser). Every exception handler of the app is wrapped: it still runs (it logs, it sets headers),
and for a UI request its problem is rendered as a page instead of JSON.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.responses import RedirectResponse, Response

from router.errors import DomainError
from router.web import nav
from router.web.render import page

PREFIX = "/ui"
LOGIN_PATH = f"{PREFIX}/login"
#: Pages served outside ``/ui``: their errors are pages for browsers, problem+json for everyone else.
PAGE_PATHS = ("/reports", "/help")

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def is_ui_request(request: Request) -> bool:
    path = request.url.path
    if path == PREFIX or path.startswith(f"{PREFIX}/"):
        return True
    is_page = any(path == p or path.startswith(f"{p}/") for p in PAGE_PATHS)
    return is_page and "text/html" in request.headers.get("accept", "")


def safe_next(target: Any) -> str:
    text = str(target or "")
    return text if text.startswith(f"{PREFIX}/") and not text.startswith("//") else f"{PREFIX}/"


def _problem_of(exc: Exception, answer: Response) -> tuple[int, str, str, dict[str, Any]]:
    """Status, title, detail and extras of what the handler answered, worded for a person."""
    if isinstance(exc, DomainError):
        return exc.status, exc.title, exc.detail, exc.extra
    if isinstance(exc, RequestValidationError):
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return 422, "Please check the form", detail, {}
    try:
        body = json.loads(bytes(answer.body))
    except ValueError:
        body = {}
    status = answer.status_code
    title = "Something went wrong" if status == 500 else str(body.get("title") or "Error")
    return status, title, str(body.get("detail") or ""), {}


async def _render(request: Request, exc: Exception, answer: Response) -> Response:
    status, title, detail, extra = _problem_of(exc, answer)
    ctx = request.app.state.ctx
    retry_after = answer.headers.get("retry-after")
    headers = {"Retry-After": retry_after} if retry_after else {}
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
    # After a server error the database may be what failed: use only the agent the request already read.
    agent = await nav.for_error_page(request, look_up=status < 500)
    return page(request, ctx, "web/error.html", agent=agent, status=status, headers=headers, title=title, detail=detail)


def _for_pages(handler: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        answer = handler(request, exc)
        if inspect.isawaitable(answer):
            answer = await answer
        if not is_ui_request(request):
            return answer
        return await _render(request, exc, answer)

    return handle


def install(app: FastAPI) -> None:
    """Wrap every handler installed so far (``router.problems``): UI requests get pages, others the same."""
    for kind, handler in list(app.exception_handlers.items()):
        if kind is not WebSocketRequestValidationError:
            app.add_exception_handler(kind, _for_pages(handler))
