"""Domain errors carry their HTTP status; one handler in ``router.app`` renders them as problem+json."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a user can cause; ``status`` is what the HTTP edge answers."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotAuthenticated(DomainError):
    status = 401
    title = "Not authenticated"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The request is well formed but the ticket's state does not allow it."""

    status = 409
    title = "Conflict"


class PreconditionFailed(DomainError):
    """The client's ``If-Match`` names a version of the ticket that is no longer current."""

    status = 412
    title = "Precondition failed"


class Invalid(DomainError):
    """A value is well typed but not acceptable; ``field`` names it."""

    status = 422
    title = "Invalid input"


class Unavailable(DomainError):
    """Nothing was changed and trying again shortly will work (give ``retry_after`` seconds)."""

    status = 503
    title = "Service unavailable"
