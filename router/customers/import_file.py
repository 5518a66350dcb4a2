"""A customers CSV file read and checked on its own (``tierroute customers import``): its encoding, its
columns (``import_columns``), each row's values, and rows that collide with each other. Every problem is
located at its cell (``file:line:column: message``) and all are reported at once; the database is checked
after (``importing``).

The file is what spreadsheets write: UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8"), UTF-16
with a byte-order mark (Excel's "Unicode text", comma separated), or any encoding named by the caller
(``--encoding cp1252``). Anything else is refused at its first byte that is not UTF-8, never guessed.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from router.addresses import normalized_domain, normalized_email
from router.customers.import_columns import (
    KNOWN,
    REQUIRED,
    UPSERT_OPTIONAL,
    Column,
    cell_places,
    end_place,
    read_header_cell,
)
from router.customers.metrics import Figure
from router.customers.values import Scalar, checked_attribute, checked_value, parse_attribute, parse_number
from router.errors import Invalid
from router.models.columns import text_length
from router.models.customers import Customer
from rules.located import UnreadableSource, read_source
from rules.vocabulary import CUSTOMER_TIERS, MAX_CUSTOMER_TIER, MIN_CUSTOMER_TIER

#: Separates the domains (and the contacts) inside their cell.
LIST_SEPARATOR = ";"
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class ImportOptions:
    """How to read the file: ``upsert`` updates the customers it names that exist (``name`` and ``tier`` may
    then be left out or empty); ``period`` is the month of metric columns that name none; ``source`` says
    where the metrics come from."""

    upsert: bool = False
    period: str | None = None
    source: str = "import"


@dataclass(frozen=True)
class Place:
    """Where a cell starts (column 0: the line as a whole)."""

    line: int
    column: int = 0


@dataclass(frozen=True)
class Located:
    """A problem with its place, printed ``file:line:column: message`` (``file:line:`` for the line as a
    whole; line 0 is the file as a whole)."""

    source: str
    line: int
    message: str
    column: int = 0

    def __str__(self) -> str:
        place = ":".join(str(n) for n in (self.line, self.column) if n)
        return f"{self.source}:{place}: {self.message}" if place else f"{self.source}: {self.message}"


class Refused(Exception):
    """The file (or, in ``importing``, the database) refuses the import; ``problems`` in line order."""

    def __init__(self, problems: list[Located]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line, p.column))  # stable: a cell's keep their order
        super().__init__("\n".join(map(str, self.problems)))


@dataclass(frozen=True)
class Claim:
    """A reference, domain or contact a row wants for its customer: the database must not hold it already.
    Kept for rows with problems too, so that the database's objections come in the same report."""

    line: int
    kind: Literal["reference", "domain", "contact"]
    value: str
    column: int = 0
    #: The external reference of the row making the claim (an upsert's own domains are no conflict).
    ref: str | None = None
    #: For a reference: the row has a name and a tier, enough for a new customer.
    complete: bool = True


@dataclass
class CheckedFile:
    """The rows that passed, every problem found in the file, and every row's claims."""

    rows: list[CustomerRow] = field(default_factory=list)
    problems: list[Located] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)


@dataclass(frozen=True)
class CustomerRow:
    """One checked row: domains and contacts normalized, each once; ``name`` and ``tier`` empty only in an
    upsert (an existing customer keeps its own)."""

    line: int
    external_ref: str
    name: str | None
    tier: int | None
    domains: tuple[str, ...]
    contacts: tuple[str, ...]
    attributes: dict[str, Scalar] = field(default_factory=dict)
    figures: tuple[Figure, ...] = ()


def read_rows(path: Path, encoding: str | None = None, options: ImportOptions | None = None) -> CheckedFile:
    """The file decoded and every row checked; ``Refused`` at once if it cannot be decoded or its header
    is wrong (no row can be read then)."""
    checked = check_rows(str(path), decode(path, encoding), options)
    if checked.problems and not checked.claims:
        raise Refused(checked.problems)
    return checked


def decode(path: Path, encoding: str | None) -> str:
    """The file's text (see the module docstring); ``Refused`` with one located line otherwise. Text with
    NUL characters is refused too: valid UTF-8, it is what UTF-16 without a byte-order mark looks like."""
    text = _decode_recognized(path) if encoding is None else _decode_named(path, encoding)
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        message = "NUL characters: UTF-16 without a byte-order mark? Give its encoding (--encoding utf-16-le)"
        raise Refused([Located(str(path), line, message)])
    return text


def _decode_named(path: Path, encoding: str) -> str:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        message = f"unknown encoding {encoding!r} (Python's names work: cp1252, latin-1, utf-16)"
        raise Refused([Located(str(path), 0, message)]) from None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Refused([Located(str(path), 0, f"cannot read the customers file: {exc.strerror}")]) from None
    try:
        return data.decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as exc:
        line, column = _locate(data, exc.start)
        message = f"not {encoding} text (byte 0x{data[exc.start]:02x})"
        raise Refused([Located(str(path), line, message, column)]) from None


def _decode_recognized(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise Refused([Located(str(path), 0, f"cannot read the customers file: {exc.strerror}")]) from None
    if head.startswith(_UTF32_BOMS):
        message = "UTF-32 text: save the customers file as UTF-8, or give --encoding utf-32"
        raise Refused([Located(str(path), 1, message)])
    if head.startswith(_UTF16_BOMS):
        return _decode_named(path, "utf-16")
    try:
        return read_source(path, "customers file")
    except UnreadableSource as exc:
        problem = exc.problem
        if not problem.line:  # not read at all
            raise Refused([Located(str(path), 0, problem.message)]) from None
        hint = ", or give its encoding (--encoding cp1252, for instance)"
        raise Refused([Located(str(path), problem.line, problem.message + hint, problem.column)]) from None


def _locate(data: bytes, offset: int) -> tuple[int, int]:
    """Line and column of a byte offset (lines counted by newline bytes: right for ASCII-based codecs)."""
    line = data.count(b"\n", 0, offset) + 1
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def check_rows(source: str, text: str, options: ImportOptions | None = None) -> CheckedFile:
    """Parse and check every row."""
    options = options or ImportOptions()
    lines = io.StringIO(text, newline="").readlines()  # split as the reader splits them
    reader = csv.reader(lines)
    checker = _RowChecker(source, options)
    try:
        header = next(_numbered(reader, lines), None)
        if header is None:
            checker.problem(Place(1), f"no header: the first line names the columns ({KNOWN})")
            return checker.checked
        columns = checker.header(*header)
        if columns is None:
            return checker.checked
        for line, raw, cells in _numbered(reader, lines):
            checker.row(_Cells(line, raw, columns, cells))
    except csv.Error as exc:
        checker.problem(Place(reader.line_num), f"not readable as CSV: {exc}")
    return checker.checked


def _numbered(reader: Iterator[list[str]], lines: list[str]) -> Iterator[tuple[int, str, list[str]]]:
    """Non-blank rows with the line each starts on and their text (a quoted cell may span lines)."""
    assert hasattr(reader, "line_num")
    while True:
        start = reader.line_num + 1
        cells = next(reader, None)
        if cells is None:
            return
        if any(cell.strip() for cell in cells):
            yield start, "".join(lines[start - 1 : reader.line_num]), cells


class _Cells:
    """One row's cells by column, each with the place it starts (a missing cell: where the row ends)."""

    def __init__(self, line: int, raw: str, columns: list[Column], cells: list[str]) -> None:
        self.line = line
        self.columns = columns
        self.cells = cells
        self._starts = cell_places(raw)
        self._end = end_place(raw)

    def place(self, index: int) -> Place:
        at = self._starts[index] if index < len(self._starts) else self._end
        return Place(self.line + at[0], at[1])

    def fixed(self, name: str) -> tuple[str, Place]:
        """The fixed column's cell, trimmed (empty when the row or the header lacks it), and its place."""
        for i, column in enumerate(self.columns):
            if column.kind == "fixed" and column.name == name:
                return (self.cells[i].strip() if i < len(self.cells) else ""), self.place(i)
        return "", Place(self.line)

    def of_kind(self, kind: str) -> Iterator[tuple[Column, str, Place]]:
        """The attribute (or metric) columns' non-empty cells."""
        for i, column in enumerate(self.columns):
            if column.kind == kind and i < len(self.cells) and self.cells[i].strip():
                yield column, self.cells[i].strip(), self.place(i)


class _RowChecker:
    """Checks rows one by one and remembers what earlier rows claimed (references, domains, contacts)."""

    def __init__(self, source: str, options: ImportOptions) -> None:
        self.source = source
        self.options = options
        self.checked = CheckedFile()
        self.problems = self.checked.problems
        self.refs: dict[str, int] = {}
        self.domains: dict[str, int] = {}
        self.contacts: dict[str, int] = {}

    def problem(self, place: Place, message: str) -> None:
        self.problems.append(Located(self.source, place.line, message, place.column))

    def header(self, line: int, raw: str, cells: list[str]) -> list[Column] | None:
        """The columns the header names, or None if they will not do."""
        starts = cell_places(raw)
        columns: list[Column] = []
        seen: set[tuple[str, str, str]] = set()
        for i, cell in enumerate(cells):
            place = Place(line + starts[i][0], starts[i][1])
            column = read_header_cell(cell, self.options.period)
            if isinstance(column, str):
                self.problem(place, column)
                continue
            if column.key in seen:
                self.problem(place, f"column {cell.strip()!r} appears more than once")
            seen.add(column.key)
            columns.append(column)
        optional = UPSERT_OPTIONAL if self.options.upsert else ()
        missing = [c for c in REQUIRED if ("fixed", c, "") not in seen and c not in optional]
        if missing:
            self.problem(Place(line), f"missing columns: {', '.join(missing)}")
        return None if self.problems else columns

    def row(self, row: _Cells) -> None:
        before = len(self.problems)
        if len(row.cells) > len(row.columns):
            self.problem(
                row.place(len(row.columns)),
                f"{len(row.cells)} fields where the header names {len(row.columns)} columns",
            )
        ref = self._text(row, "external_ref", required=True)
        name = self._text(row, "name", required=not self.options.upsert)
        tier = self._tier(row)
        domains = self._claims(row, "domains", "domain", normalized_domain, self.domains)
        contacts = self._claims(row, "contacts", "contact", _contact, self.contacts)
        attributes = self._attributes(row)
        figures = self._figures(row)
        if ref is not None:
            place = row.fixed("external_ref")[1]
            if ref in self.refs:
                self.problem(place, f"external_ref {ref!r} is also on line {self.refs[ref]}")
            self.refs.setdefault(ref, row.line)
            complete = name is not None and tier is not None
            self.checked.claims.append(Claim(place.line, "reference", ref, place.column, ref, complete))
        self.checked.claims += [Claim(p.line, "domain", d, p.column, ref) for d, p in domains]
        self.checked.claims += [Claim(p.line, "contact", c, p.column, ref) for c, p in contacts]
        if len(self.problems) > before or ref is None:
            return
        domain_list = tuple(d for d, _ in domains)
        contact_list = tuple(c for c, _ in contacts)
        self.checked.rows.append(CustomerRow(row.line, ref, name, tier, domain_list, contact_list, attributes, figures))

    def _text(self, row: _Cells, column: str, *, required: bool) -> str | None:
        value, place = row.fixed(column)
        if not value:
            if required:
                self.problem(place, f"{column} is required")
            return None
        if len(value) > (limit := text_length(Customer, column)):
            self.problem(place, f"{column} has at most {limit} characters, got {len(value)}")
            return None
        return value

    def _tier(self, row: _Cells) -> int | None:
        value, place = row.fixed("tier")
        if not value and self.options.upsert:
            return None
        if value.isascii() and value.isdigit() and int(value) in CUSTOMER_TIERS:
            return int(value)
        self.problem(place, f"tier must be {MIN_CUSTOMER_TIER} to {MAX_CUSTOMER_TIER} (got {value!r})")
        return None

    def _claims(
        self, row: _Cells, column: str, what: str, normalize: Callable[[str], str], seen: dict[str, int]
    ) -> list[tuple[str, Place]]:
        """The cell's domains (or contacts) normalized, each once; one problem per bad or repeated value."""
        cell, place = row.fixed(column)
        found: dict[str, Place] = {}
        for raw in (part.strip() for part in cell.split(LIST_SEPARATOR)):
            if not raw:
                continue
            try:
                value = normalize(raw)
            except Invalid as exc:
                self.problem(place, exc.detail)
                continue
            if value in found:
                continue
            if seen.get(value, row.line) != row.line:
                self.problem(place, f"{what} {value} is also on line {seen[value]}")
            seen.setdefault(value, row.line)
            found[value] = place
        return list(found.items())

    def _attributes(self, row: _Cells) -> dict[str, Scalar]:
        found: dict[str, Scalar] = {}
        for column, cell, place in row.of_kind("attribute"):
            try:
                value = checked_attribute(column.name, parse_attribute(cell))
            except Invalid as exc:
                self.problem(place, exc.detail)
                continue
            if value is not None:
                found[column.name] = value
        return found

    def _figures(self, row: _Cells) -> tuple[Figure, ...]:
        found: list[Figure] = []
        for column, cell, place in row.of_kind("metric"):
            number = parse_number(cell)
            if number is None:
                self.problem(place, f"metric {column.name} for {column.period}: {cell!r} is not a number like 1234.5")
                continue
            try:
                value = checked_value(number)
            except Invalid as exc:
                self.problem(place, f"metric {column.name} for {column.period}: {exc.detail}")
                continue
            found.append(Figure(column.period, column.name, value, self.options.source))
        return tuple(found)


def _contact(text: str) -> str:
    """A contact's address (email-validator keeps it within 254 characters, and so within the column)."""
    return normalized_email(text, field="contacts")
