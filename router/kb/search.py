"""Full-text search over knowledge-base articles, in the database: the articles that best answer a question
or a ticket's subject and body, for one customer tier, product and language.

The index, ``kb_article_search``, is the database's own (migration 0024), kept current by triggers:

- PostgreSQL: a ``tsvector`` per article, title weighted A, keywords B, body C, stemmed with the text
  search configuration of the article's language, under a GIN index. A question is parsed once per
  configuration the articles use (``to_tsquery`` of that configuration, so ``Passwörter`` meets German
  articles' ``passwort`` and ``passwords`` English articles' ``password``), matched through the index and
  ranked with ``ts_rank`` (weights A 1.0, B 0.5, C 0.2, divided by the log of the document's length).
- SQLite: an FTS5 table (porter stemming, unicode61, accents folded) ranked with ``bm25`` and per-column
  weights in the same order (title 8, keywords 4, body 1).

A customer writes a ticket, not a query: most of its words are not in the article that answers it. So the
words are OR-ed, never AND-ed (an article matching more of them, and rarer ones on SQLite, ranks higher),
after dropping the commonest function words and keeping at most ``MAX_QUERY_WORDS``. A person's words never
reach either query language as syntax: each is ``\\w+`` and quoted.

Each candidate costs its ranking (``ts_rank`` / ``bm25`` over its whole document, some 10 µs), so a search
ranks about ``terms.CANDIDATE_BUDGET`` of them at most (with 10,000 articles a ticket's words OR-ed made
thousands): the rare words' articles, least common words first (``router/kb/terms.py``), and of those with
the common words together only the first few hundred (by article id; an article holding words that most
articles hold is no better a match for being first, but thousands of them cost 20 to 60 ms). Snippets are
made for the rows kept only. Two statements on PostgreSQL (the question parsed per configuration, then the
search; the index's statistics read once per ``ANALYZE``), three small ones and the search on SQLite.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from router.kb import locales, terms
from router.models.kb import ArticleStatus

#: A ticket's first this many distinct words (function words dropped) make the query: enough for its
#: subject and the gist of its body, few enough that the index lookups stay cheap.
MAX_QUERY_WORDS = 32
#: Longer "words" are pasted tokens, hashes or base64: nothing an article holds.
MAX_WORD_LENGTH = 40
MAX_LIMIT = 50
#: Words in snippets (``ts_headline`` / FTS5 ``snippet``).
SNIPPET_WORDS = 24
_WORD = re.compile(r"\w+")
#: Words that carry no meaning in a question, in the languages tickets come in most (English first). The
#: database drops its own stop words too (PostgreSQL per language); this list keeps them from taking the
#: query's word budget, and spares FTS5 (which has no stop words) a match on nearly every article.
_STOP_WORDS_TEXT = """a about after again all also am an and any are as at be been before being but by can cannot
    could did do does doing don done each for from get got had has have having he her here hi hello his how i if in into
    is it its just me more my no nor not now of off on once only or other our out over please same she should
    so some such than thank thanks that the their them then there these they this those through to too under
    until up very was we were what when where which while who why will with would you your yours
    der die das ein eine und oder nicht ist ich sie wir es mit von zu auf für den dem des im bei hallo bitte
    le la les un une et ou est je nous vous il elle de du des en pour avec bonjour merci
    el los las y o es yo usted que por para con hola gracias"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
#: ``ts_rank``'s weights for D, C, B, A: body (C) 0.2, keywords (B) 0.5, title (A) 1.0.
_PG_WEIGHTS = "'{0.1, 0.2, 0.5, 1.0}'::float4[]"
#: FTS5's bm25 weights per column: title, keywords, body.
_BM25_WEIGHTS = "8.0, 4.0, 1.0"
_HEADLINE = f'StartSel="", StopSel="", MaxWords={SNIPPET_WORDS}, MinWords={SNIPPET_WORDS // 2}, ShortWord=2'


@dataclass(frozen=True)
class ArticleHit:
    """One article found: ``rank`` is higher for a better match (comparable within one search only)."""

    article_id: int
    slug: str
    title: str
    #: Plain text around the matched words (no markup: escape it like any text).
    snippet: str
    rank: float
    #: Anyone may read it on ``/help/<slug>`` (published, for every customer tier and product).
    public: bool = False


def query_words(question: str) -> list[str]:
    """The words of ``question`` that are searched for: lowercase, each once, function words dropped."""
    words: list[str] = []
    for word in _WORD.findall(question.lower()):
        if word in STOP_WORDS or len(word) > MAX_WORD_LENGTH or word.strip("_") == "" or word in words:
            continue
        words.append(word)
        if len(words) == MAX_QUERY_WORDS:
            break
    return words


def _filters(
    dialect: str,
    params: dict[str, Any],
    *,
    customer_tier: int | None,
    product: str | None,
    locale: str | None,
    published_only: bool,
    public_only: bool,
) -> str:
    """The ``WHERE`` conditions on ``kb_article a`` (their values go into ``params``)."""
    pg = dialect == "postgresql"
    conditions = ["a.status = :published" if published_only else "a.status <> :archived"]
    params["published" if published_only else "archived"] = (
        ArticleStatus.published.value if published_only else ArticleStatus.archived.value
    )
    if public_only:
        empty = "a.{0} = '[]'::jsonb" if pg else "json_array_length(a.{0}) = 0"
        conditions += [empty.format("tiers"), empty.format("products")]
    for column, value in (("tiers", customer_tier), ("products", product.strip().lower() if product else None)):
        if value is None:
            continue
        params[column] = json.dumps([value]) if pg else value
        if pg:
            conditions.append(f"(a.{column} = '[]'::jsonb OR a.{column} @> CAST(:{column} AS jsonb))")
        else:
            listed = f"EXISTS (SELECT 1 FROM json_each(a.{column}) WHERE value = :{column})"
            conditions.append(f"(json_array_length(a.{column}) = 0 OR {listed})")
    if locale is not None:
        params["language"] = locales.language(locale)
        params["language_prefix"] = f"{params['language']}-%"
        conditions.append("(a.locale = :language OR a.locale LIKE :language_prefix)")
    return " AND ".join(conditions)


#: The configurations to parse the question with: the one of the asked language, else each one the articles
#: use: read from the config index a value at a time (a ``DISTINCT`` reads every row: 10,000 rows, 15 ms).
_PG_ONE_CONFIG = "(SELECT kb_search_config(:locale)::text AS config)"
_PG_EVERY_CONFIG = """(
    WITH RECURSIVE used(config) AS (
        (SELECT config FROM kb_article_search ORDER BY config LIMIT 1)
        UNION ALL
        SELECT (SELECT s.config FROM kb_article_search AS s WHERE s.config > used.config ORDER BY s.config LIMIT 1)
        FROM used WHERE used.config IS NOT NULL
    )
    SELECT config FROM used WHERE config IS NOT NULL
)"""


def _postgresql(filters: str) -> str:
    # Per configuration, the candidates through the GIN index: every article with a rare term, then at most
    # ``CANDIDATE_BUDGET`` more, in all, with the common terms together (the bitmap heap scans stop there:
    # words held by most articles would otherwise make all of them candidates, each ranked). Then the
    # ranking, and the snippets of the rows kept.
    return f"""
        WITH c AS (
            SELECT unnest(CAST(:configs AS text[])) AS config,
                   unnest(CAST(:rare AS text[]))::tsquery AS rare_query,
                   unnest(CAST(:common AS text[]))::tsquery AS common_query,
                   unnest(CAST(:ranks AS text[]))::tsquery AS rank_query
        ), candidate AS (
            SELECT c.config, c.rank_query, r.article_id, r.document
            FROM c JOIN kb_article_search AS r ON r.config = c.config AND r.document @@ c.rare_query
            UNION ALL
            (SELECT c.config, c.rank_query, t.article_id, t.document
             FROM c JOIN kb_article_search AS t ON t.config = c.config AND t.document @@ c.common_query
             WHERE NOT coalesce(t.document @@ c.rare_query, false)
             LIMIT :budget)
        )
        SELECT m.article_id, a.slug, a.title, m.score,
               ts_headline(m.config::regconfig, a.plain_text, m.rank_query, '{_HEADLINE}') AS snippet,
               (a.status = :public_status AND a.tiers = '[]'::jsonb AND a.products = '[]'::jsonb) AS public
        FROM (
            SELECT s.article_id, s.config, s.rank_query,
                   ts_rank({_PG_WEIGHTS}, s.document, s.rank_query, 1)::float8 AS score
            FROM candidate AS s JOIN kb_article a ON a.id = s.article_id
            WHERE {filters}
            ORDER BY score DESC, s.article_id
            LIMIT :limit
        ) AS m
        JOIN kb_article a ON a.id = m.article_id
        ORDER BY m.score DESC, m.article_id
    """


_FTS5_MATCHES = "SELECT rowid FROM kb_article_search WHERE kb_article_search MATCH :{0}"
#: The first article past the first ``CANDIDATE_BUDGET`` with the common terms together (FTS5 goes by rowid).
_FTS5_BOUND = f"{_FTS5_MATCHES.format('common')} LIMIT 1 OFFSET :budget"
_FTS5_SCORED = f"""SELECT rowid AS id, -bm25(kb_article_search, {_BM25_WEIGHTS}) AS score FROM kb_article_search
    WHERE kb_article_search MATCH :question"""


def _fts5_candidates(bound: int | None, rare: bool) -> str:
    """The candidates, scored. ``bound``: the common terms' would be too many: those before it (the rowid
    range goes into FTS5's scan, ``bm25`` only for those), and the rare terms' past it (looked up by rowid)."""
    if bound is None:
        return _FTS5_SCORED
    capped = f"{_FTS5_SCORED} AND rowid < :bound"
    if not rare:
        return capped
    return f"{capped} UNION ALL {_FTS5_SCORED} AND rowid >= :bound AND rowid IN ({_FTS5_MATCHES.format('rare')})"


def _sqlite(filters: str, bound: int | None, rare: bool) -> str:
    # Scored and ranked first, then the snippets of the few rows kept (``snippet()`` needs the MATCH of its
    # own row).
    return f"""
        SELECT r.id, r.slug, r.title, r.score,
               snippet(kb_article_search, 2, '', '', '…', {SNIPPET_WORDS}) AS snippet, r.public
        FROM (
            SELECT a.id, a.slug, a.title, c.score,
                   (a.status = :public_status AND json_array_length(a.tiers) = 0
                    AND json_array_length(a.products) = 0) AS public
            FROM ({_fts5_candidates(bound, rare)}) AS c JOIN kb_article a ON a.id = c.id
            WHERE {filters}
            ORDER BY c.score DESC, a.id
            LIMIT :limit
        ) AS r
        JOIN kb_article_search ON kb_article_search.rowid = r.id
        WHERE kb_article_search MATCH :question
        ORDER BY r.score DESC, r.id
    """


async def search_articles(
    session: AsyncSession,
    query: str,
    *,
    customer_tier: int | None = None,
    product: str | None = None,
    locale: str | None = None,
    limit: int = 3,
    published_only: bool = True,
    public_only: bool = False,
) -> list[ArticleHit]:
    """The articles that best match ``query`` (a question, or a ticket's subject and body), best first.

    :param customer_tier: only articles this customer tier may see (those for every tier, or for it); None:
        no restriction (an agent's search).
    :param product: only articles about this product (as the ticket names it, any case) or about every product.
    :param locale: only articles in this language (``de-CH`` finds ``de`` and ``de-AT`` articles), the
        question stemmed as that language; None: every language, each article matched in its own.
    :param limit: at most this many (1 to ``MAX_LIMIT``).
    :param published_only: False: drafts too (agents preparing articles); archived articles never.
    :param public_only: only what ``/help`` shows to anyone: articles for every tier and every product.
    """
    words = query_words(query)
    limit = max(1, min(limit, MAX_LIMIT))
    if not words:
        return []
    if locale is not None:
        locale = locales.normalized(locale)
    dialect = session.get_bind().dialect.name
    params: dict[str, Any] = {"limit": limit, "public_status": ArticleStatus.published.value}
    filters = _filters(
        dialect, params, customer_tier=customer_tier, product=product, locale=locale,
        published_only=published_only, public_only=public_only,
    )  # fmt: skip
    connection = await session.connection()
    if dialect == "postgresql":
        by_locale = {"locale": locale} if locale is not None else {}
        configs = _PG_ONE_CONFIG if locale is not None else _PG_EVERY_CONFIG
        queries = await terms.pg_queries(connection, words, configs, by_locale)
        if not queries.configs:
            return []
        params.update(
            configs=queries.configs, rare=queries.rare, common=queries.common, ranks=queries.ranks,
            budget=queries.common_budget,
        )  # fmt: skip
        statement = _postgresql(filters)
    else:
        fts5 = await terms.fts5_query(connection, words)
        params.update(question=fts5.question, rare=fts5.rare, common=fts5.common, budget=fts5.common_budget)
        bound = None
        if fts5.common:  # at most one rowid, read from the index's first pages
            bound = (await connection.execute(text(_FTS5_BOUND), params)).scalar_one_or_none()
        params["bound"] = bound
        statement = _sqlite(filters, bound, bool(fts5.rare))
    rows = (await connection.execute(text(statement), params)).all()
    return [ArticleHit(int(r[0]), r[1], r[2], " ".join(str(r[4] or "").split()), float(r[3]), bool(r[5])) for r in rows]
