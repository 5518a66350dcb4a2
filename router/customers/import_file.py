"""A customers CSV file read and checked on its own (``tierroute customers import``): its encoding, its
columns, each row's values, and rows that collide with each other. Every problem is located
(``file:line: message``) and all are reported at once; the database is checked after (``importing``).

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
from router.errors import Invalid
from router.models.columns import text_length
from router.models.customers import Customer
from rules.located import UnreadableSource, read_source
from rules.vocabulary import CUSTOMER_TIERS, MAX_CUSTOMER_TIER, MIN_CUSTOMER_TIER

REQUIRED = ("external_ref", "name", "tier")
OPTIONAL = ("domains", "contacts")
#: Separates the domains (and the contacts) inside their cell.
LIST_SEPARATOR = ";"
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class Located:
    """A problem with its place, printed ``file:line: message`` (``file:line:column:`` for a byte that cannot
    be decoded; line 0 is the file as a whole)."""

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
        self.problems = sorted(problems, key=lambda p: p.line)  # stable: a line's problems keep their order
        super().__init__("\n".join(map(str, self.problems)))


@dataclass(frozen=True)
class Claim:
    """A reference, domain or contact a row wants for its customer: the database must not hold it already.
    Kept for rows with problems too, so that the database's objections come in the same report."""

    line: int
    kind: Literal["reference", "domain", "contact"]
    value: str


@dataclass
class CheckedFile:
    """The rows that passed, every problem found in the file, and every row's claims."""

    rows: list[CustomerRow] = field(default_factory=list)
    problems: list[Located] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)


@dataclass(frozen=True)
class CustomerRow:
    """One checked row: domains and contacts normalized, each once."""

    line: int
    external_ref: str
    name: str
    tier: int
    domains: tuple[str, ...]
    contacts: tuple[str, ...]


def read_rows(path: Path, encoding: str | None = None) -> CheckedFile:
    """The file decoded and every row checked; ``Refused`` at once if it cannot be decoded or its header
    is wrong (no row can be read then)."""
    checked = check_rows(str(path), decode(path, encoding))
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


def check_rows(source: str, text: str) -> CheckedFile:
    """Parse and check every row."""
    reader = csv.reader(io.StringIO(text, newline=""))
    checker = _RowChecker(source)
    try:
        header = next(_numbered(reader), None)
        if header is None:
            checker.problem(1, f"no header: the first line names the columns ({', '.join(REQUIRED + OPTIONAL)})")
            return checker.checked
        columns = checker.header(*header)
        if columns is None:
            return checker.checked
        for line, cells in _numbered(reader):
            checker.row(line, columns, cells)
    except csv.Error as exc:
        checker.problem(reader.line_num, f"not readable as CSV: {exc}")
    return checker.checked


def _numbered(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on (a quoted cell may span lines)."""
    assert hasattr(reader, "line_num")
    while True:
        start = reader.line_num + 1
        cells = next(reader, None)
        if cells is None:
            return
        if any(cell.strip() for cell in cells):
            yield start, cells


class _RowChecker:
    """Checks rows one by one and remembers what earlier rows claimed (references, domains, contacts)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.checked = CheckedFile()
        self.problems = self.checked.problems
        self.refs: dict[str, int] = {}
        self.domains: dict[str, int] = {}
        self.contacts: dict[str, int] = {}

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Located(self.source, line, message))

    def header(self, line: int, cells: list[str]) -> list[str] | None:
        """The column names (trimmed, lower case), or None if they will not do."""
        columns = [cell.strip().lower() for cell in cells]
        known = REQUIRED + OPTIONAL
        for name in sorted({c for c in columns if columns.count(c) > 1}):
            self.problem(line, f"column {name!r} appears more than once")
        for name in [c for c in columns if c not in known]:
            self.problem(line, f"unknown column {name!r} (the columns are {', '.join(known)})")
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            self.problem(line, f"missing columns: {', '.join(missing)}")
        return None if self.problems else columns

    def row(self, line: int, columns: list[str], cells: list[str]) -> None:
        before = len(self.problems)
        if len(cells) > len(columns):
            self.problem(line, f"{len(cells)} fields where the header names {len(columns)} columns")
        values = {name: cell.strip() for name, cell in zip(columns, cells, strict=False)}
        ref = self._text(line, values, "external_ref", text_length(Customer, "external_ref"))
        name = self._text(line, values, "name", text_length(Customer, "name"))
        tier = self._tier(line, values.get("tier", ""))
        domains = self._claims(line, values.get("domains", ""), "domain", normalized_domain, self.domains)
        contacts = self._claims(line, values.get("contacts", ""), "contact", _contact, self.contacts)
        if ref is not None:
            if ref in self.refs:
                self.problem(line, f"external_ref {ref!r} is also on line {self.refs[ref]}")
            self.refs.setdefault(ref, line)
            self.checked.claims.append(Claim(line, "reference", ref))
        self.checked.claims += [Claim(line, "domain", d) for d in domains]
        self.checked.claims += [Claim(line, "contact", c) for c in contacts]
        if len(self.problems) == before and ref is not None and name is not None and tier is not None:
            self.checked.rows.append(CustomerRow(line, ref, name, tier, domains, contacts))

    def _text(self, line: int, values: dict[str, str], column: str, limit: int) -> str | None:
        value = values.get(column, "")
        if not value:
            self.problem(line, f"{column} is required")
            return None
        if len(value) > limit:
            self.problem(line, f"{column} has at most {limit} characters, got {len(value)}")
            return None
        return value

    def _tier(self, line: int, value: str) -> int | None:
        if value.isascii() and value.isdigit() and int(value) in CUSTOMER_TIERS:
            return int(value)
        self.problem(line, f"tier must be {MIN_CUSTOMER_TIER} to {MAX_CUSTOMER_TIER} (got {value!r})")
        return None

    def _claims(
        self, line: int, cell: str, what: str, normalize: Callable[[str], str], seen: dict[str, int]
    ) -> tuple[str, ...]:
        """The cell's domains (or contacts) normalized, each once; one problem per bad or repeated value."""
        found: list[str] = []
        for raw in (part.strip() for part in cell.split(LIST_SEPARATOR)):
            if not raw:
                continue
            try:
                value = normalize(raw)
            except Invalid as exc:
                self.problem(line, exc.detail)
                continue
            if value in found:
                continue
            if seen.get(value, line) != line:
                self.problem(line, f"{what} {value} is also on line {seen[value]}")
            seen.setdefault(value, line)
            found.append(value)
        return tuple(found)


def _contact(text: str) -> str:
    """A contact's address (email-validator keeps it within 254 characters, and so within the column)."""
    return normalized_email(text, field="contacts")
