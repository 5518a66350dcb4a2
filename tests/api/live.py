"""uvicorn serving the app on a free loopback port in a thread of its own (its own event loop): for tests
about what happens on the wire (keep-alive connections), which the in-process ASGI client cannot see."""

from __future__ import annotations

import threading
import time

import uvicorn
from fastapi import FastAPI

from queues.runtime import open_app_context
from router.app import create_app
from router.settings import Settings


class LiveServer:
    def __init__(self, settings: Settings, port: int, app: FastAPI | None = None) -> None:
        config = uvicorn.Config(
            app or create_app(settings, open_app_context),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-test-server", daemon=True)
        self.base_url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
