"""What a customer's attributes and metrics may be: names, periods, values. The API, the service and the
customers file check them here, so a figure refused by one is refused by all, with the same words.

Attributes are facts that hold until changed (``reference_logo: true``, ``industry: "retail"``); metrics
are figures of a month (``revenue_12m`` for ``2026-10``). Both feed the tier policy's scoring.
"""

from __future__ import annotations

import math
import re
from typing import Any

from router.errors import Invalid

#: ``revenue_12m``, ``gross_margin``, ``reference_logo``: lower case, digits and ``_``, a letter first.
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
NAME_RULE = "a letter, then up to 39 lower-case letters, digits or '_' (like revenue_12m)"
#: Who reported a metric: ``billing``, ``crm.salesforce``, ``import``.
SOURCE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")
SOURCE_RULE = "up to 40 lower-case letters, digits, '_', '.' or '-' (like billing or crm.hubspot)"
#: A calendar month, ``YYYY-MM``.
PERIOD = re.compile(r"[1-9][0-9]{3}-(0[1-9]|1[0-2])")
PERIOD_RULE = "a month as YYYY-MM (like 2026-10)"
#: No figure is bigger than this (a quadrillion): beyond it is a unit or a typing mistake, and a float
#: stops holding whole cents long before.
MAX_METRIC_VALUE = 1e15
#: How long a text attribute may be.
MAX_TEXT = 200
#: How many attributes a customer may have.
MAX_ATTRIBUTES = 100
#: An attribute is a switch, a number or a short text (``None`` in a change removes it).
Scalar = bool | int | float | str


def checked_name(name: str, field: str = "metric") -> str:
    if not NAME.fullmatch(name):
        raise Invalid(f"{field} name {name!r} is not {NAME_RULE}", field=field)
    return name


def checked_source(source: str, field: str = "source") -> str:
    if not SOURCE.fullmatch(source):
        raise Invalid(f"source {source!r} is not {SOURCE_RULE}", field=field)
    return source


def checked_period(period: str, field: str = "period") -> str:
    if not PERIOD.fullmatch(period):
        raise Invalid(f"period {period!r} is not {PERIOD_RULE}", field=field)
    return period


def checked_value(value: float, field: str = "value") -> float:
    """A finite number within ``MAX_METRIC_VALUE`` either side of zero."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"a metric's value is a number, got {value!r}", field=field)
    if abs(value) > MAX_METRIC_VALUE or not math.isfinite(value):  # a huge int first: isfinite would overflow
        shown = repr(value) if len(repr(value)) <= 30 else f"{repr(value)[:12]}... ({len(repr(value))} digits)"
        raise Invalid(f"a metric's value is a finite number within ±{MAX_METRIC_VALUE:.0e}, got {shown}", field=field)
    return float(value)


def checked_attribute(name: str, value: Any, field: str = "attributes") -> Scalar | None:
    """An attribute's value as given, if it may be one (``None``: remove the attribute)."""
    checked_name(name, field)
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise Invalid(f"attribute {name} has at most {MAX_TEXT} characters, got {len(value)}", field=field)
        return value
    if isinstance(value, int | float):
        checked_value(value, field)
        return value
    raise Invalid(f"attribute {name} is true/false, a number or a text, got {type(value).__name__}", field=field)


_TRUE = {"true", "yes"}
_FALSE = {"false", "no"}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def parse_number(text: str) -> float | None:
    """A number as a spreadsheet writes it (``1234.5``, ``-3``, ``1e6``), or None (``nan`` and ``inf`` are not
    numbers here; ``1e999`` is, and ``checked_value`` refuses it)."""
    text = text.strip()
    return float(text) if _NUMBER.fullmatch(text) else None


def parse_attribute(text: str) -> Scalar:
    """A cell's text as an attribute: ``true``/``yes`` and ``false``/``no`` (any case) are switches, a number
    is a number (whole numbers stay whole), anything else is text."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    number = parse_number(text)
    if number is None:
        return text.strip()
    return int(number) if number.is_integer() and re.fullmatch(r"[+-]?\d+", text.strip()) else number
