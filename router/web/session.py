"""What the signed session cookie holds: the token of the server-side session (``router.agents.sessions``),
the CSRF token and one-shot notices. The cookie names a session; the database says whether it is live."""

from __future__ import annotations

import secrets

from fastapi import Request

SESSION_KEY = "session"
CSRF_KEY = "csrf"
FLASH_KEY = "flash"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (the sign-in form needs one before anyone signs in)."""
    token = request.session.get(CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_KEY] = token
    return token


def session_token(request: Request) -> str | None:
    """The server-side session this cookie names (it may have ended since: ask ``router.agents.sessions``)."""
    value = request.session.get(SESSION_KEY)
    return value if isinstance(value, str) else None


def sign_in(request: Request, token: str) -> None:
    """A fresh cookie (no fixation: nothing from before the sign-in survives) with a new CSRF token."""
    request.session.clear()
    request.session[SESSION_KEY] = token
    request.session[CSRF_KEY] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    """Empty the cookie (the caller ends the server-side session)."""
    request.session.clear()


def flash(request: Request, message: str) -> None:
    """A notice shown once, on the next page (after a post-redirect-get)."""
    notices = request.session.get(FLASH_KEY)
    request.session[FLASH_KEY] = [*(notices if isinstance(notices, list) else []), message][-5:]


def take_flashes(request: Request) -> list[str]:
    notices = request.session.pop(FLASH_KEY, None)
    return [str(n) for n in notices] if isinstance(notices, list) else []
