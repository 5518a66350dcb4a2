"""Files a person writes that are not UTF-8: located problems, never a traceback (pure, no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules import RulebookError, load_rulebook
from rules.cases import load_cases
from rules.located import UnreadableSource, read_source
from rules.sla import SlaPolicyError, load_sla_policies

LATIN1 = "version: 1\nrules:\n  - id: café\n".encode("latin-1")


def test_read_source_names_the_line_and_column_of_the_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "rulebook.yaml"
    path.write_bytes(LATIN1)
    with pytest.raises(UnreadableSource) as caught:
        read_source(path, "rulebook")
    assert str(caught.value.problem) == f"{path}:3:12: not UTF-8 text (byte 0xe9); save the rulebook as UTF-8"


def test_read_source_accepts_a_byte_order_mark_and_strips_it(tmp_path: Path) -> None:
    path = tmp_path / "with-bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfversion: 1\n")
    assert read_source(path, "rulebook") == "version: 1\n"


def test_read_source_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnreadableSource, match="cannot read rulebook: No such file"):
        read_source(tmp_path / "absent.yaml", "rulebook")


@pytest.mark.parametrize(
    ("load", "error"),
    [(load_rulebook, RulebookError), (load_cases, RulebookError), (load_sla_policies, SlaPolicyError)],
)
def test_every_loader_turns_a_latin1_file_into_a_located_problem(tmp_path: Path, load: object, error: type) -> None:
    path = tmp_path / "file.yaml"
    path.write_bytes(LATIN1)
    with pytest.raises(error) as caught:
        load(path)  # type: ignore[operator]
    assert f"{path}:3:12: not UTF-8 text" in str(caught.value)
