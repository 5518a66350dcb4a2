"""The errors in the OpenAPI document: each operation lists every problem+json response it can give.

Generated clients only know the responses the document declares (issue 16 item 18), so every route
declares its error statuses with ``problems(...)`` (or a shared set below), each with the ``Problem``
schema under ``application/problem+json``. FastAPI's own 422 (``HTTPValidationError`` as
``application/json``) is replaced by ours wherever an operation declares 422, which is why every
operation that takes a parameter or a body must. ``tests/api/test_openapi_fuzz.py`` holds the document
to what the API answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from router.problems import PROBLEM_JSON

Responses = dict[int | str, dict[str, Any]]


class Problem(BaseModel):
    """RFC 9457 problem details; some problems add members (``field``, ``errors``, ``retry_after``...)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a URI naming the kind of problem")
    title: str
    status: int
    detail: str = Field(description="what went wrong with this request, in words")
    instance: str | None = Field(default=None, description="the path of the request")


_WHY = {
    400: "the body cannot be read (not UTF-8 text, or not the declared encoding)",
    401: "no bearer token, or one that is unknown or revoked",
    403: "the agent may not do this: a tier they do not work, or leads and admins only",
    404: "no such ticket, tier or source",
    409: "the ticket's state does not allow this change",
    412: "If-Match names a version of the ticket that is no longer current (it changed: read it again)",
    413: "the request body is over the size limit",
    415: "the body is not in the media type this operation takes",
    422: "a parameter or the body is invalid; the problem names the field",
    429: "too many requests; retry after the Retry-After header's seconds",
    503: "the database or Redis is not available right now; nothing was changed, retry after Retry-After",
}
_SCHEMA = {"$ref": "#/components/schemas/Problem"}


def problems(*statuses: int, also: tuple[str, ...] = ()) -> Responses:
    """``responses=`` for a route or router: each status as problem+json (and ``also`` these media types)."""
    out: Responses = {}
    for status in statuses:
        content = {PROBLEM_JSON: {"schema": _SCHEMA}} | {media: {} for media in also}
        response: dict[str, Any] = {"description": _WHY[status], "content": content}
        if status == 401:
            response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}}
        out[status] = response
    return out


def answer(status: int, description: str, *media: str) -> Responses:
    """A response that is not a problem (a redirect, an empty queue, readiness), in ``media`` types if any."""
    response: dict[str, Any] = {"description": description}
    if media:
        response["content"] = {m: {} for m in media}
    return {status: response}


#: Every route that reads a bearer token and the database or Redis.
SIGNED_IN = problems(401, 503)
#: Routes that take query or path parameters as well.
SIGNED_IN_WITH_PARAMETERS = problems(401, 422, 503)
#: Routes that take a JSON body (``router.problems.require_json``; ``BodyLimit``).
JSON_BODY = problems(400, 413, 415, 422)
#: Routes on one ticket from the path (``TicketFromPath``, ``TicketForChange``).
ONE_TICKET = problems(403, 404)
#: Leads and admins only.
LEADS_ONLY = problems(403)


def install(app: FastAPI) -> None:
    """Add the ``Problem`` schema the responses refer to (no route returns it, so FastAPI would not)."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
