"""CONTRIBUTING.md's layout table stays true to the tree, and no module grows into a room of its own.

No database: this reads files only.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: A module past this many lines wants splitting by responsibility (migrations are generated, not written).
MAX_MODULE_LINES = 430


def layout_paths() -> set[str]:
    """Every backticked path in the first column of the layout table."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    paths: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            paths.update(re.findall(r"`([^`]+)`", first_cell))
    return paths


def named(path: str, paths: set[str]) -> bool:
    return path in paths or any(path.startswith(p) for p in paths if p.endswith("/"))


def test_every_path_in_the_layout_table_exists() -> None:
    paths = layout_paths()
    assert len(paths) > 30
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"CONTRIBUTING.md names paths that are not in the tree: {missing}"


def test_every_package_and_module_is_in_the_layout_table() -> None:
    paths = layout_paths()
    expected = [f"router/{p.name}/" for p in (ROOT / "router").iterdir() if (p / "__init__.py").exists()]
    expected += ["router/migrations/"]
    expected += [f"router/{p.name}" for p in (ROOT / "router").glob("*.py") if p.name != "__init__.py"]
    for package in ("queues", "rules"):
        expected += [f"{package}/{p.name}" for p in (ROOT / package).glob("*.py") if p.name != "__init__.py"]
    unnamed = sorted(p for p in expected if not named(p, paths))
    assert not unnamed, f"add these to CONTRIBUTING.md's layout table: {unnamed}"


def test_no_module_is_over_the_size_limit() -> None:
    too_long = []
    for package in ("router", "queues", "rules", "bench"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_MODULE_LINES:
                too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert not too_long, f"split these by responsibility: {too_long}"
