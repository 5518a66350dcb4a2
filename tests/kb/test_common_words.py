"""A large knowledge base: words held by many articles do not make every article a candidate (issue 19
item 2, ``router/kb/terms.py``), yet still count in the ranking."""

from __future__ import annotations

import json

from sqlalchemy import text

from queues.runtime import Runtime
from router.kb import terms
from router.kb.search import search_articles

COMMON = terms.MAX_TERM_ARTICLES + 20


async def fill(runtime: Runtime) -> None:
    rows = [
        {
            "slug": f"filler-{i}",
            "title": f"Account note {i}",
            "body": "Your account settings and account history.",
            "keywords": json.dumps(["account"]),
        }
        for i in range(COMMON)
    ]
    rows.append(
        {
            "slug": "reset-your-password",
            "title": "Reset your password",
            "body": "Forgot the password of your account? Choose Forgot password.",
            "keywords": json.dumps(["password", "account"]),
        }
    )
    async with runtime.app.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO kb_article (slug, title, body, plain_text, keywords, locale, status, tiers, products,"
                " version, created_at, updated_at) VALUES (:slug, :title, :body, :body, :keywords, 'en',"
                " 'published', '[]', '[]', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            rows,
        )
    async with runtime.app.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE kb_article_search"))  # the statistics the search reads
            await conn.commit()


async def test_a_common_word_finds_candidates_only_with_others(runtime: Runtime) -> None:
    await fill(runtime)
    async with runtime.app.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            configs = "(SELECT 'english'::text AS config)"
            queries = await terms.pg_queries(conn, ["account", "password", "forgot"], configs, {})
            assert sorted(str(queries.rare[0]).split(" | ")) == ["'forgot'", "'password'"]
            assert queries.common == [None], "'account' alone would make 321 candidates"
            assert sorted(queries.ranks[0].split(" | ")) == ["'account'", "'forgot'", "'password'"]
            only_common = await terms.pg_queries(conn, ["account"], configs, {})
            assert (only_common.rare, only_common.common) == ([None], ["'account'"]), "no rare word: the common one"
        else:
            queries = await terms.fts5_query(conn, ["accounts", "password", "forgot"])
            assert (queries.question, queries.common) == ('"password" OR "forgot"', "")
            only = await terms.fts5_query(conn, ["accounts"])
            assert (only.question, only.rare, only.common) == ('"accounts"', "", '"accounts"')
            assert terms.fts5_stem("Délivrées") == "delivre"
    async with runtime.app.sessionmaker() as s:
        hits = await search_articles(s, "My account: I forgot the password", limit=3)
        assert [h.slug for h in hits][:1] == ["reset-your-password"]
        assert len(await search_articles(s, "account", limit=50)) == 50


def test_words_are_stemmed_as_fts5_stems_them() -> None:
    """The search counts a word's articles by its FTS5 term: our stemmer (PyStemmer's C Porter, through
    snowballstemmer) must agree with SQLite's own tokenizer, word for word."""
    import sqlite3

    words = sorted(
        set(
            [
                "connections",
                "connected",
                "connecting",
                "generalization",
                "relational",
                "hopefulness",
                "formality",
                "sensitivity",
                "argued",
                "arguing",
                "agreed",
                "feed",
                "troubles",
                "troubling",
                "passwords",
                "délivrées",
                "naïve",
                "invoicing",
                "cancelled",
                "refunds",
                "resetting",
                "configurable",
                "authentication",
                "authenticated",
                "logging",
                "exporting",
                "sync",
                "syncing",
                "accounts",
                "accountant",
                "happily",
                "skies",
                "dying",
                "lying",
                "probate",
                "rational",
                "rationalize",
                "electricity",
            ]
        )
    )
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'porter unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row')")
    for word in words:
        db.execute("DELETE FROM t")
        db.execute("INSERT INTO t(x) VALUES (?)", (word,))
        [(term,)] = db.execute("SELECT term FROM v").fetchall()
        assert terms.fts5_stem(word) == term, word


async def test_the_common_words_candidates_are_capped(runtime: Runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Common words together in more articles than the budget: only the budget's first are ranked, and the
    articles with a rare word still are (past the cap too)."""
    await fill(runtime)
    monkeypatch.setattr(terms, "CANDIDATE_BUDGET", 5)
    monkeypatch.setattr(terms, "MAX_TERM_ARTICLES", 50)
    async with runtime.app.sessionmaker() as s:
        hits = await search_articles(s, "account settings history", limit=50)
        assert len(hits) == 5, "the budget's first, of 320"
        hits = await search_articles(s, "account settings history forgot", limit=50)
        assert len(hits) == 5, "the budget in all: the rare word's article, and four with the common words"
        assert "reset-your-password" in {h.slug for h in hits}, "the rare word's article, past the cap"
