"""Parsing limits for mail: a message nested deeper than ``MAX_DEPTH`` or with more than ``MAX_HEADER_LINES``
header lines is refused as soon as the parser reaches the limit. No real mail comes near either; mail built
to reach them held the event loop for seconds (1,000 nested levels: 1.8 s of CPU and then the stdlib
parser's own RecursionError; 200,000 header lines: 1.2 s).
"""

from __future__ import annotations

import email.policy
from email.feedparser import BytesFeedParser
from typing import Any

#: Parts inside parts, the message itself counted: real mail nests a few levels (a forward of a signed
#: reply with alternatives is about six).
MAX_DEPTH = 50
#: Header lines of the message and all its parts together (continuation lines counted).
MAX_HEADER_LINES = 10_000


class TooComplexEmail(ValueError):
    """The message is beyond a parsing limit; refused before the parser spends on it."""


class _LimitedParser(BytesFeedParser):
    """The stdlib feed parser, stopped as soon as a message nests too deep or has too many header lines.

    Hooks two of its internal steps (stable since Python 3.3): ``_new_message`` opens each part, with the
    parts it is inside on ``_msgstack``; ``_parse_headers`` receives each part's header lines."""

    def __init__(self, policy: email.policy.Policy) -> None:
        super().__init__(policy=policy)
        self._header_lines = 0

    def _new_message(self) -> None:
        if len(self._msgstack) >= MAX_DEPTH:  # type: ignore[attr-defined]
            raise TooComplexEmail(f"the message is nested more than {MAX_DEPTH} levels deep (the limit)")
        super()._new_message()  # type: ignore[misc]

    def _parse_headers(self, lines: list[str]) -> None:
        self._header_lines += len(lines)
        if self._header_lines > MAX_HEADER_LINES:
            raise _too_many_header_lines()
        super()._parse_headers(lines)  # type: ignore[misc]


def _too_many_header_lines() -> TooComplexEmail:
    return TooComplexEmail(f"the message has more than {MAX_HEADER_LINES} header lines (the limit)")


def _top_header_lines(raw: bytes) -> int:
    """Lines before the first empty line, counted in C: the common case of a huge header block is refused
    before the parser reads it line by line."""
    end = min((i for i in (raw.find(b"\n\n"), raw.find(b"\r\n\r\n")) if i >= 0), default=len(raw))
    return raw.count(b"\n", 0, end)


def message_from_bytes(raw: bytes, policy: email.policy.Policy) -> Any:
    """``email.message_from_bytes`` that raises ``TooComplexEmail`` as soon as a limit is passed."""
    if _top_header_lines(raw) > MAX_HEADER_LINES:
        raise _too_many_header_lines()
    parser = _LimitedParser(policy)
    parser.feed(raw)
    return parser.close()
