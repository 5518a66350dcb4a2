"""The assignment settings in force for this process, reloaded when their file changes and are still valid."""

from __future__ import annotations

import time
from pathlib import Path

import structlog

from rules.assignment import PULL_EVERYWHERE, AssignmentError, AssignmentSettings, load_assignment

log = structlog.get_logger(__name__)


class AssignmentProvider:
    """Keeps the last valid settings; an invalid change is refused, logged and kept in ``error``. A file that
    does not exist means every tier pulls (today's behaviour)."""

    def __init__(self, path: Path | None, check_every: float = 2.0) -> None:
        self.path = path
        self.check_every = check_every
        self.error: str | None = None
        self._stamp = self._stat()
        self._settings = self._load_first()
        self._checked = time.monotonic()

    @classmethod
    def fixed(cls, settings: AssignmentSettings) -> AssignmentProvider:
        """Settings that never reload (tests, benchmarks)."""
        provider = cls(None)
        provider._settings = settings
        return provider

    def _load_first(self) -> AssignmentSettings:
        if self.path is None or not self.path.exists():
            return PULL_EVERYWHERE
        return load_assignment(self.path)  # the first load must succeed: fail loudly at start

    def _stat(self) -> tuple[int, int, int]:
        if self.path is None:
            return (-1, -1, -1)
        try:
            st = self.path.stat()
        except OSError:
            return (-1, -1, -1)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self) -> AssignmentSettings:
        now = time.monotonic()
        if self.path is not None and now - self._checked >= self.check_every:
            self._checked = now
            stamp = self._stat()
            if stamp != self._stamp:
                self._stamp = stamp
                self._reload()
        return self._settings

    def push_tiers(self) -> frozenset[int]:
        return self.current().push_tiers()

    def _reload(self) -> None:
        assert self.path is not None
        try:
            settings = load_assignment(self.path) if self.path.exists() else PULL_EVERYWHERE
        except AssignmentError as exc:
            self.error = str(exc)
            log.error("assignment_refused", path=str(self.path), error=self.error)
            return
        self.error = None
        self._settings = settings
        log.info("assignment_loaded", path=str(self.path), version=settings.version)
