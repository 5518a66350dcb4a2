"""The one-click links of a tier-0 acknowledgement: signed (HMAC-SHA256), expiring, bound to one ticket.

A link is ``/self-service/T-000123/<token>``; the token is ``v1.<ticket>.<suggestion>.<s|n>.<expires>.<mac>``,
the MAC over the rest under a key that lives outside the database (``TIERROUTE_SELF_SERVICE_KEY``, or a file in
the data dir made on first use, like the audit chain's key: ``router.audit.keys``). Someone who can read the
database or a mail cannot make a link for another ticket or suggestion, change its action or stretch its
expiry. Single use is not in the token: the database keeps a row per used suggestion (``KbLinkUse``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from router.audit.keys import secret_file
from router.bounds import MAX_ROW_ID
from router.models.self_service import Feedback
from router.models.tickets import ticket_ref
from router.settings import Settings

VERSION = "v1"
#: Tokens are ASCII and short; anything longer is not one of ours (and is not worth hashing).
MAX_TOKEN_CHARS = 200
PATH_PREFIX = "/self-service"
#: ``None`` is the link that shows the article (with the two answers as buttons): it changes nothing.
_CODES: dict[Feedback | None, str] = {Feedback.solved: "s", Feedback.not_helpful: "n", None: "r"}
_ACTIONS = {code: action for action, code in _CODES.items()}
_LABEL = b"tierroute self-service link\0"


class BadLink(Exception):
    """A token that is not one we signed (or not readable at all): ``forged``."""


@dataclass(frozen=True)
class LinkClaim:
    """What a signed link says: this suggestion of this ticket solved it (or did not), or (``feedback`` None)
    show it, until ``expires``."""

    ticket_id: int
    suggestion_id: int
    feedback: Feedback | None
    #: Seconds since the epoch.
    expires: int

    def expired(self, now: datetime) -> bool:
        return now.timestamp() >= self.expires


@dataclass(frozen=True)
class LinkKey:
    secret: bytes

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self.secret, _LABEL + payload.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def sign(self, claim: LinkClaim) -> str:
        payload = f"{VERSION}.{claim.ticket_id}.{claim.suggestion_id}.{_CODES[claim.feedback]}.{claim.expires}"
        return f"{payload}.{self._mac(payload)}"

    def read(self, token: str) -> LinkClaim:
        """The claim of a token this key signed; ``BadLink`` for anything else (the MAC is checked in constant
        time before any field is believed)."""
        if len(token) > MAX_TOKEN_CHARS or not token.isascii():
            raise BadLink("not a self-service link")
        payload, _, mac = token.rpartition(".")
        if not payload or not hmac.compare_digest(self._mac(payload), mac):
            raise BadLink("the link's signature does not match")
        version, ticket, suggestion, code, expires = (payload.split(".") + [""] * 5)[:5]
        if version != VERSION or code not in _ACTIONS or not (ticket + suggestion + expires).isdigit():
            raise BadLink("not a self-service link")
        ticket_id, suggestion_id = int(ticket), int(suggestion)
        if not (0 < ticket_id <= MAX_ROW_ID and 0 < suggestion_id <= MAX_ROW_ID):
            raise BadLink("not a self-service link")
        return LinkClaim(ticket_id, suggestion_id, _ACTIONS[code], int(expires))


@lru_cache(maxsize=4)
def _key_from_file(path: Path) -> LinkKey:
    return LinkKey(secret_file(path, "the self-service link key"))


def link_key(settings: Settings) -> LinkKey:
    """``TIERROUTE_SELF_SERVICE_KEY``, or the key file in the data dir (made on first use)."""
    if settings.self_service_key is not None:
        return LinkKey(settings.self_service_key.get_secret_value().encode())
    return _key_from_file(settings.self_service_key_file)


def expiry(settings: Settings, now: datetime) -> int:
    return int((now + timedelta(days=settings.self_service_link_days)).timestamp())


def link_path(ticket_id: int, token: str) -> str:
    return f"{PATH_PREFIX}/{ticket_ref(ticket_id)}/{token}"


def link_url(settings: Settings, ticket_id: int, token: str) -> str:
    """The link as the requester's mail shows it (``TIERROUTE_PUBLIC_URL`` in front, when set)."""
    return settings.public_url + link_path(ticket_id, token)
