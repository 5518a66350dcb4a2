"""``tierroute report sla --out`` checks it can write the file before it computes the report (issue 16,
item 22): one line and exit 2, without opening the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.settings import Settings
from tests.test_cli import tierroute


@pytest.mark.parametrize("where", ["missing-dir", "a-directory", "under-a-file"])
def test_an_unwritable_out_is_one_line_before_any_work(tmp_path: Path, where: str) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    (tmp_path / "reports").mkdir()
    (tmp_path / "plain-file").write_text("")
    out, reason = {
        "missing-dir": (tmp_path / "missing" / "dir" / "x.html", "no such directory"),
        "a-directory": (tmp_path / "reports", "it is a directory"),
        "under-a-file": (tmp_path / "plain-file" / "x.html", "not a directory"),
    }[where]
    done = tierroute(settings, "report", "sla", "--out", str(out))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot write {out}: ") and reason in line
    assert not (tmp_path / "data" / "tierroute.db").exists()  # the report was not computed
