"""The columns of a customers file and where each cell of a row starts, so that every problem points at its
cell (``file:line:column``).

Columns are the fixed ones (``external_ref``, ``name``, ``tier``, ``domains``, ``contacts``), attributes
(``attr:reference_logo``: one attribute, the cell's value) and metrics (``metric:revenue_12m@2026-10``: one
figure of one month; ``metric:revenue_12m`` takes the month of ``--period``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from router.customers.values import NAME, NAME_RULE, PERIOD, PERIOD_RULE

REQUIRED = ("external_ref", "name", "tier")
OPTIONAL = ("domains", "contacts")
#: ``name`` and ``tier`` may be left out of an upsert (existing customers keep theirs; new ones need both).
UPSERT_OPTIONAL = ("name", "tier")
ATTRIBUTE_PREFIX = "attr:"
METRIC_PREFIX = "metric:"
KNOWN = "external_ref, name, tier, domains, contacts, attr:NAME, metric:NAME@YYYY-MM"


@dataclass(frozen=True)
class Column:
    """One header cell understood: a fixed column, an attribute or a metric of a month."""

    kind: Literal["fixed", "attribute", "metric"]
    #: The fixed column's, attribute's or metric's name.
    name: str
    #: The metric's month (``YYYY-MM``); empty for the others.
    period: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.name, self.period)


def read_header_cell(text: str, period: str | None) -> Column | str:
    """The column a header cell names, or why it names none (a message)."""
    cell = text.strip()
    lowered = cell.lower()
    if lowered in REQUIRED + OPTIONAL:
        return Column("fixed", lowered)
    if lowered.startswith(ATTRIBUTE_PREFIX):
        name = lowered[len(ATTRIBUTE_PREFIX) :].strip()
        if not NAME.fullmatch(name):
            return f"attribute column {cell!r}: the name after attr: is {NAME_RULE}"
        return Column("attribute", name)
    if lowered.startswith(METRIC_PREFIX):
        name, at, month = lowered[len(METRIC_PREFIX) :].partition("@")
        name, month = name.strip(), month.strip()
        if not NAME.fullmatch(name):
            return f"metric column {cell!r}: the name after metric: is {NAME_RULE}"
        if not at:
            if period is None:
                return f"metric column {cell!r} names no month: write metric:{name}@2026-10, or give --period"
            month = period
        if not PERIOD.fullmatch(month):
            return f"metric column {cell!r}: the month after @ is {PERIOD_RULE}"
        return Column("metric", name, month)
    return f"unknown column {cell!r} (the columns are {KNOWN})"


def cell_places(raw: str) -> list[tuple[int, int]]:
    """Where each cell of a CSV record starts: ``(lines after the record's first, 1-based column)``.

    ``raw`` is the record's text as read (a quoted cell may span lines); the rules are the ``csv`` module's
    default dialect: ``,`` between cells, ``"`` quoting a cell it opens, ``""`` a quote inside one.
    """
    places = [(0, 1)]
    line = line_start = 0
    quoted = False
    cell_start = True
    i = 0
    while i < len(raw):
        ch = raw[i]
        if quoted:
            if ch == '"':
                if raw.startswith('"', i + 1):
                    i += 1
                else:
                    quoted = False
        elif ch == '"' and cell_start:
            quoted = True
        elif ch == ",":
            places.append((line, i - line_start + 2))
            cell_start = True
            i += 1
            continue
        if ch == "\n" or (ch == "\r" and not raw.startswith("\n", i + 1)):
            line += 1
            line_start = i + 1
        cell_start = False
        i += 1
    return places


def end_place(raw: str) -> tuple[int, int]:
    """Just after a record's last character (where a missing cell would go)."""
    text = raw.rstrip("\r\n")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return len(lines) - 1, len(lines[-1]) + 1
