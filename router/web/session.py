"""What the signed session cookie holds: the signed-in agent, the CSRF token and one-shot notices."""

from __future__ import annotations

import secrets

from fastapi import Request

AGENT_KEY = "agent_id"
CSRF_KEY = "csrf"
FLASH_KEY = "flash"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (the sign-in form needs one before anyone signs in)."""
    token = request.session.get(CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_KEY] = token
    return token


def signed_in_id(request: Request) -> int | None:
    value = request.session.get(AGENT_KEY)
    return value if isinstance(value, int) else None


def sign_in(request: Request, agent_id: int) -> None:
    """A fresh session (no fixation: nothing from before the sign-in survives) with a new CSRF token."""
    request.session.clear()
    request.session[AGENT_KEY] = agent_id
    request.session[CSRF_KEY] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    request.session.clear()


def flash(request: Request, message: str) -> None:
    """A notice shown once, on the next page (after a post-redirect-get)."""
    notices = request.session.get(FLASH_KEY)
    request.session[FLASH_KEY] = [*(notices if isinstance(notices, list) else []), message][-5:]


def take_flashes(request: Request) -> list[str]:
    notices = request.session.pop(FLASH_KEY, None)
    return [str(n) for n in notices] if isinstance(notices, list) else []
