"""Full-text search over tickets, in the database: a match condition and a relevance score per backend.

The index, ``ticket_search``, is the database's own (migration 0018): on PostgreSQL a ``tsvector`` per
ticket (subject weighted A, requester and customer B, messages C) under a GIN index, beside a copy of
the ticket's support tier (migration 0034, so an agent's search checks the tier without the ticket row),
queried with ``websearch_to_tsquery`` and ranked with ``ts_rank``; on SQLite an FTS5 table ranked with
``bm25``. A person's words never reach either query language as syntax: PostgreSQL's web-search parser
accepts anything, and for FTS5 each word is quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Double, cast, column, func, literal_column, table, text
from sqlmodel import col

from router.models.tickets import Ticket

#: Words beyond this many add nothing a person meant to ask.
MAX_WORDS = 16
#: Best match first ranks the newest this many matches: ranking every ticket that holds a common word
#: ("error") would read a million documents; the newest matches are the ones an agent is after.
MAX_RANKED = 1_000
#: A text search in another order counts matches up to this many (best match first counts up to
#: ``MAX_RANKED``); ``total_capped`` says when there are more.
MAX_COUNTED = 10_000
#: FTS5's bm25 weights per column (subject, body, requester, customer), as PostgreSQL's A, C, B, B.
_BM25_WEIGHTS = (4.0, 1.0, 2.0, 2.0)
_WORD = re.compile(r"\w+")

#: How a text search runs on PostgreSQL, for the rest of the request's transaction only (one round trip):
#:
#: - planned for its words, every time. The driver prepares a statement it runs often, and after a few runs
#:   PostgreSQL may switch to a generic plan, made without the words: it then guesses how many documents a
#:   word is in, and for a word in most tickets it read the whole index (5-7 s over a million tickets instead
#:   of 6 ms);
#: - its documents read ahead. A word's matches are scattered over the index table, one page each, and the
#:   first search for a word reads them from disk; with PostgreSQL's default (``effective_io_concurrency`` 1)
#:   the bitmap scan asks for one page at a time (76 us a page on this project's machine: 90 ms for a rare
#:   word's 1,200 pages), with ``SEARCH_READ_AHEAD`` pages requested ahead it took 30 us a page. Solid-state
#:   storage serves hundreds of requests at once (the setting's documentation suggests "in the hundreds").
#:   A server's higher setting is kept; 0 (read-ahead off by its administrator, or a platform without
#:   ``posix_fadvise``, where any other value is an error) stays 0.
SEARCH_READ_AHEAD = 128
SEARCH_SETTINGS = text(
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), set_config('effective_io_concurrency', "
    "CASE current_setting('effective_io_concurrency') WHEN '0' THEN '0' "
    f"ELSE greatest(current_setting('effective_io_concurrency')::int, {SEARCH_READ_AHEAD})::text END, true)"
)

_PG_INDEX = table("ticket_search", column("ticket_id"), column("document"), column("support_tier"))
_FTS5_INDEX = table("ticket_search", column("rowid"))


@dataclass(frozen=True)
class TextMatch:
    """Join ``index`` on ``on``, keep rows where ``where`` holds; ``score`` is higher for better matches."""

    index: object
    on: ColumnElement[bool]
    where: ColumnElement[bool]
    score: ColumnElement[float]
    #: Where the index keeps each document's ticket id and support tier (PostgreSQL, migration 0034): a search
    #: filtered by the agent's tiers alone needs no ticket row before the page. None: join the tickets.
    ticket_id: ColumnElement[int] | None = None
    support_tier: ColumnElement[int] | None = None


def fts5_query(text: str) -> str | None:
    """Every word, quoted (so ``AND``, ``*``, ``:`` or quotes stay words); None when there is no word."""
    words = _WORD.findall(text)[:MAX_WORDS]
    return " ".join(f'"{w}"' for w in words) if words else None


def text_match(dialect: str, text: str) -> TextMatch | None:
    """The match for ``text`` on this backend; None when it holds no word to look for."""
    if dialect == "postgresql":
        query = func.websearch_to_tsquery(literal_column("'english'::regconfig"), text)
        document = _PG_INDEX.c.document
        return TextMatch(
            _PG_INDEX,
            _PG_INDEX.c.ticket_id == col(Ticket.id),
            document.op("@@")(query),
            # float8, so the score read back into a cursor is the very number the next page compares with
            cast(func.ts_rank(document, query), Double),
            _PG_INDEX.c.ticket_id,
            _PG_INDEX.c.support_tier,
        )
    words = fts5_query(text)
    if words is None:
        return None
    fts: ColumnElement[Any] = literal_column("ticket_search")
    return TextMatch(
        _FTS5_INDEX,
        _FTS5_INDEX.c.rowid == col(Ticket.id),
        fts.op("MATCH")(words),
        -func.bm25(fts, *_BM25_WEIGHTS),
    )
