"""Alembic environment: migrations run on the connection ``router.db.migrate`` hands in."""

from typing import Any, Literal

from alembic import context
from sqlmodel.sql.sqltypes import AutoString

from router.db import include_name
from router.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - we never run alembic offline
    raise RuntimeError("run migrations through router.db.migrate()")


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Autogenerate plain ``sa.String`` for SQLModel's AutoString, so migrations need no sqlmodel import."""
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    render_item=render_item,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
