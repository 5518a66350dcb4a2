"""Which of a question's words narrow a knowledge-base search, and which only rank it.

A ticket's words OR-ed together match nearly every article once the knowledge base is large: "account" or
"password" are in thousands of them, and ranking thousands of articles costs tens of milliseconds. So the
words are split by how many articles hold them, as the database already counts them:

- PostgreSQL: ``ANALYZE`` keeps the most common lexemes of the index's tsvector column with the share of
  rows holding each (``pg_stats.most_common_elems``); a lexeme not listed is rarer than every listed one.
  A process reads them once per ``ANALYZE`` (the question's parse says when the last one was).
- SQLite: FTS5's vocabulary table (``kb_article_search_vocab``, migration 0024) counts the articles holding
  each (porter-stemmed) term; the question's words are stemmed the same way (snowball's ``porter``).

  ``ANALYZE`` lists about ten times the statistics target (1,000 lexemes by default); the least share listed
  (``most_common_elem_freqs``' next-to-last entry) is the estimate of an unlisted lexeme: an upper bound.
- SQLite: FTS5's vocabulary table (``kb_article_search_vocab``, migration 0024) counts the articles holding
  each (porter-stemmed) term; the question's words are stemmed the same way (snowball's ``porter``). It
  counts by reading the term's whole list of articles (10,000 for a word in every article: 6 ms for a
  ticket's words), so each process remembers the counts until the index changes (FTS5's structure record,
  rewritten by every write): tickets use the same few thousand words over and over.

A *rare* word (in at most ``MAX_TERM_ARTICLES`` articles) finds candidates on its own; the common ones find
candidates only together (the ``COMMON_TOGETHER`` least common of them, AND-ed). Every word still counts in
the ranking. A ticket holds a dozen rare words or more, and each of them OR-ed in would make a few hundred
candidates more to rank: so the rare words find candidates least common first, only while their articles add
up to at most ``CANDIDATE_BUDGET`` (the least common always; a word in no article costs nothing; between
words as common, the question's first ones: a ticket's subject). A small knowledge base has no common word at
all, and is searched with its words OR-ed up to the budget.
"""

from __future__ import annotations

import unicodedata
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

#: A word held by more articles than this is common: it alone would make too many candidates to rank.
MAX_TERM_ARTICLES = 300
#: How many of the common words, AND-ed, make candidates (the least common of them).
COMMON_TOGETHER = 3
#: At most about this many candidates from the rare words (as the database counts or estimates them): each
#: candidate costs its ranking, some 10 µs (PostgreSQL's ``ts_rank``, FTS5's ``bm25``), and the words beyond
#: the budget are the commoner ones, which tell the least about which article answers.
CANDIDATE_BUDGET = 500


@dataclass(frozen=True)
class Terms:
    """A question's terms (lexemes, stems) with how many articles hold each, least common first."""

    counts: tuple[tuple[str, float], ...]

    @property
    def rare(self) -> list[str]:
        """The rare terms that find candidates: least common first, within ``CANDIDATE_BUDGET``."""
        return [term for term, _ in self._rare_counts]

    @property
    def _rare_counts(self) -> list[tuple[str, float]]:
        chosen: list[tuple[str, float]] = []
        total = 0.0
        for term, articles in self.counts:
            if articles > MAX_TERM_ARTICLES or (chosen and total + articles > CANDIDATE_BUDGET):
                break  # the counts are ascending: every later term costs as much or more
            chosen.append((term, articles))
            total += articles
        return chosen

    @property
    def common_budget(self) -> int:
        """At most this many candidates from the common terms together: what the rare ones leave of the
        budget, and at least a quarter of it."""
        left = CANDIDATE_BUDGET - sum(n for _, n in self._rare_counts)
        return int(max(left, CANDIDATE_BUDGET / 4))

    @property
    def common(self) -> list[str]:
        return [t for t, n in self.counts if n > MAX_TERM_ARTICLES]

    def any_rare(self, any_of: str, quote: Any) -> str:
        """The rare terms' query (empty: none)."""
        return any_of.join(quote(t) for t in self.rare)

    def common_together(self, all_of: str, quote: Any) -> str:
        """The least common common terms together (one alone only when there is no rare term; empty: none).
        They may still be in thousands of articles: the search ranks at most ``CANDIDATE_BUDGET`` of those."""
        common = self.common[:COMMON_TOGETHER]
        if len(common) > 1 or (common and not self.rare):
            together = all_of.join(quote(t) for t in common)
            return f"({together})" if len(common) > 1 else together
        return ""

    def match(self, any_of: str, all_of: str, quote: Any) -> str:
        """The candidates' query: any rare term, or the least common common terms together."""
        return any_of.join(q for q in (self.any_rare(any_of, quote), self.common_together(all_of, quote)) if q)

    def everything(self, any_of: str, quote: Any) -> str:
        return any_of.join(quote(t) for t, _ in self.counts)


def _pg_quote(term: str) -> str:
    return "'" + term.replace("'", "''") + "'"


def _fts5_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


# --------------------------------------------------------------------------------------------- PostgreSQL
#: The index's statistics: the listed lexemes, their shares (then the least and the greatest), the rows.
_PG_STATS = """
    SELECT p.most_common_elems::text::text[], p.most_common_elem_freqs,
           (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'kb_article_search'::regclass)
    FROM pg_stats AS p
    WHERE p.schemaname = current_schema() AND p.tablename = 'kb_article_search' AND p.attname = 'document'
"""
#: Per configuration, the question's lexemes, each with its first position in the question; when the index's
#: statistics were made.
_PG_LEXEMES = """
    SELECT c.config, l.lexeme, coalesce(l.positions[1], 0), s.analyzed
    FROM {configs} AS c CROSS JOIN LATERAL unnest(to_tsvector(c.config::regconfig, :words)) AS l
    CROSS JOIN (
        SELECT greatest(pg_stat_get_last_analyze_time(oid), pg_stat_get_last_autoanalyze_time(oid)) AS analyzed
        FROM pg_class WHERE oid = 'kb_article_search'::regclass
    ) AS s
"""


@dataclass(frozen=True)
class _PgStats:
    """Articles per listed lexeme, the estimate for an unlisted one, of the ``ANALYZE`` at ``analyzed``."""

    articles: dict[str, float]
    unlisted: float
    analyzed: Any


_pg_stats: weakref.WeakKeyDictionary[Any, _PgStats] = weakref.WeakKeyDictionary()


async def _pg_statistics(conn: AsyncConnection, analyzed: Any) -> _PgStats:
    """The index's lexeme statistics made at ``analyzed``: read once per ``ANALYZE`` (reading ``pg_stats``
    and its 1,000 lexemes took half of the search's first statement)."""
    engine = conn.engine.sync_engine
    if (known := _pg_stats.get(engine)) is not None and known.analyzed == analyzed:
        return known
    row = (await conn.execute(text(_PG_STATS))).first()
    stats = _PgStats({}, 0.0, analyzed)
    if row is not None and row[0] and row[1]:
        lexemes, freqs, rows = list(row[0]), list(row[1]), float(row[2] or 0)
        articles = {lx: f * rows for lx, f in zip(lexemes, freqs, strict=False)}
        stats = _PgStats(articles, freqs[len(lexemes)] * rows, analyzed)
    _pg_stats[engine] = stats
    return stats


@dataclass(frozen=True)
class PgQueries:
    """Per text search configuration: the candidates' tsqueries (the rare terms', the common terms', None:
    no such term) and the ranking's."""

    configs: list[str]
    rare: list[str | None]
    common: list[str | None]
    ranks: list[str]
    #: At most this many candidates from the common terms, in all configurations.
    common_budget: int = 0


async def pg_queries(conn: AsyncConnection, words: list[str], configs_sql: str, params: dict[str, Any]) -> PgQueries:
    """The question's lexemes in each configuration the articles use, counted, as two tsqueries each."""
    rows = (
        await conn.execute(text(_PG_LEXEMES.format(configs=configs_sql)), {**params, "words": " ".join(words)})
    ).all()
    if not rows:
        return PgQueries([], [], [], [])
    stats = await _pg_statistics(conn, rows[0][3])
    by_config: dict[str, list[tuple[float, int, str]]] = {}
    for config, lexeme, position, _ in rows:
        by_config.setdefault(config, []).append((stats.articles.get(lexeme, stats.unlisted), position, lexeme))
    out = PgQueries([], [], [], [])
    budgets = [CANDIDATE_BUDGET]
    for config, counted in by_config.items():
        terms = Terms(tuple((lexeme, articles) for articles, _, lexeme in sorted(counted)))
        budgets.append(terms.common_budget)
        out.configs.append(config)
        out.rare.append(terms.any_rare(" | ", _pg_quote) or None)
        out.common.append(terms.common_together(" & ", _pg_quote) or None)
        out.ranks.append(terms.everything(" | ", _pg_quote))
    return PgQueries(out.configs, out.rare, out.common, out.ranks, min(budgets))


# ------------------------------------------------------------------------------------------------- SQLite
@cache
def _porter() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("porter")


@lru_cache(maxsize=65_536)
def fts5_stem(word: str) -> str:
    """As FTS5's ``porter unicode61 remove_diacritics 2`` tokenizer indexes ``word`` (remembered: tickets use
    the same few thousand words over and over)."""
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(ch))
    return str(_porter().stemWord(folded)) if folded.isascii() else folded


@dataclass(frozen=True)
class Fts5Queries:
    """The FTS5 queries: the candidates' (which ``bm25`` ranks by), its rare terms', its common terms' (empty:
    none such)."""

    question: str
    rare: str
    common: str
    #: At most this many candidates from the common terms.
    common_budget: int = 0


#: How many counts a process keeps.
VOCAB_TERMS = 65_536
#: FTS5's structure record (its rowid in the index's data table): every write to the index changes it.
_FTS5_STRUCTURE = "SELECT block FROM kb_article_search_data WHERE id = 10"


@dataclass
class _Vocabulary:
    """Term -> articles, least recently used first, as counted at the index's ``version``."""

    version: Any = None
    articles: OrderedDict[str, float] = field(default_factory=OrderedDict)


#: Per database (engine).
_vocabularies: weakref.WeakKeyDictionary[Any, _Vocabulary] = weakref.WeakKeyDictionary()


async def _fts5_counts(conn: AsyncConnection, stems: list[str]) -> dict[str, float]:
    """How many articles hold each stem: remembered while the index is unchanged, else counted."""
    known = _vocabularies.setdefault(conn.engine.sync_engine, _Vocabulary())
    version = (await conn.execute(text(_FTS5_STRUCTURE))).scalar_one_or_none()
    if version != known.version:
        known.version, known.articles = version, OrderedDict()
    articles: dict[str, float] = {}
    for stem in stems:
        if (count := known.articles.get(stem)) is not None:
            articles[stem] = count
            known.articles.move_to_end(stem)
    missing = [stem for stem in stems if stem not in articles]
    if missing:
        marks = ", ".join(f":t{i}" for i in range(len(missing)))
        found = await conn.execute(
            text(f"SELECT term, doc FROM kb_article_search_vocab WHERE term IN ({marks})"),
            {f"t{i}": stem for i, stem in enumerate(missing)},
        )
        counted = {term: float(doc) for term, doc in found.all()}
        for stem in missing:
            articles[stem] = known.articles[stem] = counted.get(stem, 0.0)
        while len(known.articles) > VOCAB_TERMS:
            known.articles.popitem(last=False)
    return articles


async def fts5_query(conn: AsyncConnection, words: list[str]) -> Fts5Queries:
    """The FTS5 queries for ``words``: the rare ones OR-ed, or-ed with the least common others AND-ed."""
    word_of: dict[str, str] = {}
    for word in words:
        word_of.setdefault(fts5_stem(word), word)  # FTS5 stems the query's words itself: give it the words
    stems = list(word_of)
    articles = await _fts5_counts(conn, stems)
    counts = sorted(((s, articles.get(s, 0.0)) for s in stems), key=lambda c: c[1])  # stable: question order
    terms = Terms(tuple(counts))
    quote = lambda stem: _fts5_quote(word_of[stem])  # noqa: E731
    return Fts5Queries(
        terms.match(" OR ", " AND ", quote),
        terms.any_rare(" OR ", quote),
        terms.common_together(" AND ", quote),
        terms.common_budget,
    )
