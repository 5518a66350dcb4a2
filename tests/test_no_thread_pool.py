"""No route or dependency runs in Starlette's thread pool: a plain ``def`` costs a thread hand-off on every
request (the intake hot path paid it three times). No database: this walks the app's dependency tree.

Heavy work is still taken off the loop, on purpose and only when it is heavy: ``router/offload.py`` (a big
mail's parse in a thread, a report on a second loop), each with a time limit (``tests/test_offload.py``)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from router.app import create_app
from router.settings import Settings


def _sync_calls(dependant: Dependant, where: str) -> list[str]:
    found = []
    call: Any = dependant.call
    if call is not None:
        target = call if inspect.isfunction(call) else getattr(call, "__call__", call)  # noqa: B004
        if not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)):
            found.append(f"{where}: {getattr(call, '__qualname__', call)!s}")
    for sub in dependant.dependencies:
        found += _sync_calls(sub, where)
    return found


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every ``APIRoute``, also inside included routers (FastAPI keeps them as ``_IncludedRouter``)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
        elif hasattr(route, "routes"):
            found += _api_routes(route.routes)
    return found


def test_every_route_and_dependency_is_async(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), lambda _s: None)  # type: ignore[arg-type,return-value]
    routes = _api_routes(app.routes)
    assert len(routes) > 20
    sync = [s for r in routes for s in _sync_calls(r.dependant, f"{sorted(r.methods)} {r.path}")]
    assert not sync, "make these async def (they run in the thread pool otherwise):\n" + "\n".join(sorted(set(sync)))
