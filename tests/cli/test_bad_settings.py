"""A wrong ``TIERROUTE_*`` value is one line per setting and exit 2, for a server (where it used to surface
as a traceback from uvicorn's app factory) and for any other command that reads the settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["up", "--port", "0"], ["worker"], ["demo"]])
def test_a_wrong_setting_is_one_line_per_value(tmp_path: Path, command: list[str]) -> None:
    env = {
        **os.environ,
        "TIERROUTE_DATA_DIR": str(tmp_path),
        "TIERROUTE_AUDIT_KEY": "short",
        "TIERROUTE_TIER_MOVE_NOTICE": "maybe",
    }
    done = subprocess.run(
        [sys.executable, "-m", "router.cli", *command], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("error: setting TIERROUTE_AUDIT_KEY: ") and "32 characters" in lines[0]
    assert lines[1].startswith("error: setting TIERROUTE_TIER_MOVE_NOTICE: ")
    assert not any(tmp_path.iterdir()), "nothing may be created before the settings are right"
