"""Orders of the ticket list and their keyset cursors.

Every order is a key and the ticket id after it, both in the same direction, so ``(key, id)`` is unique and
the next page is the rows strictly after the last one's pair: each page costs the same however deep it
is, and neither skips nor repeats a ticket while others arrive. A cursor carries its order, its key and
its id; one made for another order, or anything the API did not give out, is a 422.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, tuple_, type_coerce
from sqlmodel import col

from router.bounds import MAX_ROW_ID
from router.errors import Invalid
from router.models.tickets import Ticket
from router.tickets.filters import Sort

#: The default order's cursor, as the API gave it out before there were other orders.
_BEFORE = re.compile(r"before:([1-9][0-9]{0,9})")
_AFTER = re.compile(r"after:([a-z_]{1,20}):(.{1,40}):([1-9][0-9]{0,9})")
_BAD_CURSOR = "cursor is not one this API gave out for this sort (take next_cursor from the previous page)"


@dataclass(frozen=True)
class Cursor:
    sort: Sort
    #: The last row's key (None for the orders by id alone).
    key: Any
    last_id: int


@dataclass(frozen=True)
class Order:
    sort: Sort
    #: The key before the id (None: the id alone).
    key: ColumnElement[Any] | None
    descending: bool
    #: What the key's value is in a cursor: ``int``, ``float`` or ``datetime``.
    kind: type


def order_of(sort: Sort, relevance: ColumnElement[float] | None) -> Order:
    """``relevance`` is the text match's score (higher is better), given when the list has ``q``."""
    if sort == Sort.newest:
        return Order(sort, None, True, int)
    if sort == Sort.oldest:
        return Order(sort, None, False, int)
    if sort == Sort.priority:
        return Order(sort, cast(ColumnElement[Any], col(Ticket.priority_rank)), False, int)
    if sort == Sort.updated:
        updated = cast(ColumnElement[Any], col(Ticket.updated_at))
        return Order(sort, updated, True, datetime)
    if sort == Sort.sla_due:
        return Order(sort, cast(ColumnElement[Any], col(Ticket.sla_next_due_at)), False, datetime)
    if relevance is None:
        raise Invalid("sort=relevance needs q (a full-text query)", field="sort")
    return Order(sort, relevance, True, float)


def order_by(order: Order, ident: ColumnElement[Any] | None = None) -> list[ColumnElement[Any]]:
    """``ident`` is the ticket id's column where the rows are not ``Ticket``'s (a subquery's)."""
    ticket_id = col(Ticket.id) if ident is None else ident
    keys = [order.key, ticket_id] if order.key is not None else [ticket_id]
    return [k.desc() if order.descending else k.asc() for k in keys]


def after(order: Order, cursor: Cursor, ident: ColumnElement[Any] | None = None) -> ColumnElement[bool]:
    """The rows strictly after the cursor's in this order (``ident`` as in ``order_by``)."""
    if cursor.sort != order.sort:
        raise Invalid(_BAD_CURSOR, field="cursor")
    ticket_id = col(Ticket.id) if ident is None else ident
    if order.key is None:
        return ticket_id < cursor.last_id if order.descending else ticket_id > cursor.last_id
    here = tuple_(order.key, ticket_id)
    there = tuple_(type_coerce(cursor.key, order.key.type), cursor.last_id)
    return here < there if order.descending else here > there


def encode(order: Order, last_id: int, key: Any) -> str:
    if order.sort == Sort.newest:
        text = f"before:{last_id}"
    else:
        shown = key.isoformat() if isinstance(key, datetime) else repr(key) if isinstance(key, float) else str(key)
        text = f"after:{order.sort.value}:{shown if order.key is not None else '-'}:{last_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str, order: Order) -> Cursor:
    """The position a cursor from ``encode`` names; anything else is a 422, never a database error."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    before = _BEFORE.fullmatch(text)
    if before is not None:
        return Cursor(Sort.newest, None, _row_id(before.group(1)))
    found = _AFTER.fullmatch(text)
    if found is None or found.group(1) != order.sort.value:
        raise Invalid(_BAD_CURSOR, field="cursor")
    return Cursor(order.sort, _key(order, found.group(2)), _row_id(found.group(3)))


def _row_id(digits: str) -> int:
    if int(digits) > MAX_ROW_ID:
        raise Invalid(_BAD_CURSOR, field="cursor")
    return int(digits)


def _key(order: Order, shown: str) -> Any:
    if order.key is None:
        if shown != "-":
            raise Invalid(_BAD_CURSOR, field="cursor")
        return None
    try:
        if order.kind is int:
            value: Any = int(shown)
            if abs(value) > MAX_ROW_ID:
                raise ValueError(shown)
        elif order.kind is float:
            value = float(shown)
            if not math.isfinite(value):
                raise ValueError(shown)
        else:
            value = datetime.fromisoformat(shown)
            if value.tzinfo is None:
                raise ValueError(shown)
    except ValueError:
        raise Invalid(_BAD_CURSOR, field="cursor") from None
    return value
