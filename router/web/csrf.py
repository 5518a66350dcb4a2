"""CSRF protection: every unsafe ``/ui`` request carries the session's token (form field or header)."""

from __future__ import annotations

import secrets

from fastapi import Request

from router.errors import Forbidden
from router.web.session import CSRF_KEY

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfFailed(Forbidden):
    title = "CSRF check failed"


async def protect(request: Request) -> None:
    """A router dependency: refuse (403) an unsafe request whose token is missing or not the session's.

    The SameSite=Lax cookie already stops most cross-site posts; the token also covers same-site attackers
    and browsers that ignore SameSite. htmx sends it as a header, plain forms as a hidden field.
    """
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(CSRF_KEY)
    sent = request.headers.get(HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(FIELD)
            sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not sent or not secrets.compare_digest(sent, expected):
        raise CsrfFailed("the form's security token is missing or out of date; reload the page and try again")
