"""The SLA policies in force, reloaded when the file changes and is still valid; reachable from a session.

The ticket service only holds a session, so the composition root puts the provider in every session's
``info`` (``router.db.make_sessionmaker``); sessions made elsewhere fall back to the shipped file.
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

import structlog
from sqlmodel.ext.asyncio.session import AsyncSession

from rules.sla import SlaPolicies, SlaPolicyError, load_sla_policies

log = structlog.get_logger(__name__)
SESSION_KEY = "tierroute.sla_policies"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "rules" / "sla.yaml"


class SlaPolicyProvider:
    """Keeps the last valid policies; an invalid change is refused, logged and kept in ``error``."""

    def __init__(self, path: Path, check_every: float = 2.0) -> None:
        self.path = path
        self.check_every = check_every
        self.error: str | None = None
        self._stamp = self._stat()
        self._policies = load_sla_policies(path)  # the first load must succeed: fail loudly at start
        self._checked = time.monotonic()

    def _stat(self) -> tuple[int, int]:
        try:
            st = self.path.stat()
        except OSError:
            return (-1, -1)
        return (st.st_mtime_ns, st.st_size)

    def current(self) -> SlaPolicies:
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            self._checked = now
            stamp = self._stat()
            if stamp != self._stamp:
                self._stamp = stamp
                self._reload()
        return self._policies

    def _reload(self) -> None:
        try:
            self._policies = load_sla_policies(self.path)
        except SlaPolicyError as exc:
            self.error = str(exc)
            log.error("sla_policies_refused", path=str(self.path), error=self.error)
            return
        self.error = None
        log.info("sla_policies_loaded", path=str(self.path), version=self._policies.version)


@lru_cache(maxsize=1)
def _default_provider() -> SlaPolicyProvider:
    return SlaPolicyProvider(DEFAULT_PATH)


def policies_of(session: AsyncSession) -> SlaPolicies:
    provider = session.info.get(SESSION_KEY)
    if not isinstance(provider, SlaPolicyProvider):
        provider = _default_provider()
    return provider.current()
