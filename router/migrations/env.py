"""Alembic environment: migrations run on the connection ``router.db.migrate`` hands in."""

from alembic import context

from router.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - we never run alembic offline
    raise RuntimeError("run migrations through router.db.migrate()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
