"""The rulebook in force for this process, reloaded when its file changes and still valid."""

from __future__ import annotations

import time
from pathlib import Path

import structlog

from rules import Rulebook, RulebookError, load_rulebook

log = structlog.get_logger(__name__)


class RulebookProvider:
    """Keeps the last valid rulebook; an invalid change is refused and remembered in ``error``."""

    def __init__(self, path: Path, check_every: float = 2.0) -> None:
        self.path = path
        self.check_every = check_every
        self.error: str | None = None
        self._mtime = self._stat()
        self._rulebook = load_rulebook(path)  # the first load must succeed: fail loudly at start
        self._checked = time.monotonic()

    def _stat(self) -> tuple[int, int, int]:
        """Modification time in ns, size and inode: an edit within the clock's resolution still shows."""
        try:
            st = self.path.stat()
        except OSError:
            return (-1, -1, -1)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self) -> Rulebook:
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            self._checked = now
            mtime = self._stat()
            if mtime != self._mtime:
                self._mtime = mtime
                self._reload()
        return self._rulebook

    def _reload(self) -> None:
        try:
            rulebook = load_rulebook(self.path)
        except RulebookError as exc:
            self.error = str(exc)
            log.error("rulebook_refused", path=str(self.path), error=self.error)
            return
        self.error = None
        self._rulebook = rulebook
        log.info("rulebook_loaded", path=str(self.path), version=rulebook.version)
