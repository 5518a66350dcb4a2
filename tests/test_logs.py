"""An error's log shows the code path, not the data: a logged traceback carries no frame locals (they held a
ticket's contents or a password) and does not cost seconds of CPU on the event loop (rich rendered every
frame's locals: 17 s for one unexpected error in a request)."""

from __future__ import annotations

import time

import pytest
import structlog

from router import logs


def test_a_logged_error_is_a_plain_traceback_without_locals(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure()
    log = structlog.get_logger("test")
    password = "hunter2-do-not-log"
    started = time.perf_counter()
    try:
        raise RuntimeError(f"boom {len(password)}")
    except RuntimeError:
        log.exception("unexpected")
    took = time.perf_counter() - started
    out = capsys.readouterr().out
    assert "Traceback (most recent call last)" in out and "RuntimeError: boom 18" in out
    assert "hunter2" not in out
    assert took < 0.5
