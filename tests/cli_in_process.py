"""Run ``tierroute`` in the test process: the exit code, stdout and stderr a subprocess would give.

A ``python -m router.cli`` subprocess spends 1-3 s importing the app before the command starts; tests that
only check a command's output, exit code or database effects (not start-up, signals or ports) run it here
instead, through the same ``main()`` (its settings-error handling included).

The command runs in its own thread: it starts its own event loop (``common.run``), which an async test's
running loop would refuse. The calling test waits for it, so nothing else runs while ``os.environ``, the
working directory and the standard streams are swapped. An exception that escapes ``main()`` is printed to
stderr as the interpreter would print it, with exit code 1, so "no traceback" assertions still hold.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import traceback
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from click.testing import CliRunner

from router.audit import keys
from router.cli.main import main
from router.settings import get_settings

#: The longest one command may run, as the subprocess timeout was.
TIMEOUT_SECONDS = 120


def run_cli(
    *args: str, env: Mapping[str, str | None] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``tierroute *args`` with ``env`` added to the environment (``None``: the variable unset), as
    ``subprocess.run(capture_output=True)`` would give it."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tierroute-cli") as pool:
        return pool.submit(_invoke, list(args), dict(env or {}), cwd).result(timeout=TIMEOUT_SECONDS)


def _invoke(args: list[str], env: dict[str, str | None], cwd: Path | None) -> subprocess.CompletedProcess[str]:
    argv = ["tierroute", *args]
    saved_argv = sys.argv
    with CliRunner().isolation(env=env) as (stdout, stderr, _), contextlib.chdir(cwd or Path.cwd()):
        _forget_cached_settings()  # read from this environment, as a fresh process would
        sys.argv = argv
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc)
        except BaseException:
            traceback.print_exc(file=sys.stderr)
            code = 1
        finally:
            sys.argv = saved_argv
            sys.stdout.flush()
            sys.stderr.flush()
            _forget_cached_settings()  # and the tests' own settings are not this command's
        out, err = stdout.getvalue().decode(), stderr.getvalue().decode()
    return subprocess.CompletedProcess(argv, code, out, err)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)  # as the interpreter does with sys.exit("message")
    return 1


def _forget_cached_settings() -> None:
    get_settings.cache_clear()
    keys._default_keyring.cache_clear()
