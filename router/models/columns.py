"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, DateTime, exists, func, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: JSON everywhere, JSONB where PostgreSQL offers it.
JSONColumn = JSON().with_variant(JSONB(), "postgresql")


def json_list_has(dialect: str, column: Any, value: str | int) -> ColumnElement[bool]:
    """A ``JSONColumn`` list holds ``value``: containment (``@>``) on PostgreSQL, ``json_each`` on SQLite."""
    if dialect == "postgresql":
        return type_coerce(column, JSONB).contains([value])
    each = func.json_each(column).table_valued("value")
    return exists(select(each.c.value).where(each.c.value == value))


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes, also on SQLite (which forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def text_length(table: Any, column: str) -> int:
    """How many characters a text column holds (PostgreSQL refuses a longer value with an error, SQLite
    keeps it): input is checked against this, the one spelling of the limit being the table's."""
    length: int = table.__table__.c[column].type.length
    return length
