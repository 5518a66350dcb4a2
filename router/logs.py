"""Log output: structlog's console renderer, with tracebacks printed plainly.

Left to its defaults, structlog renders an exception with rich, locals of every frame included: one
unexpected error in a request took 17 s of CPU on the event loop (every request of the process waited),
and the locals could print a ticket's contents or a password into the log. A plain traceback costs
microseconds and shows code, not data."""

from __future__ import annotations

import structlog


def configure() -> None:
    """structlog's default chain, with the plain exception formatter (idempotent; called by the app and
    the runtime so every process gets it)."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.StackInfoRenderer(),
            structlog.dev.set_exc_info,
            structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
            structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback),
        ]
    )
