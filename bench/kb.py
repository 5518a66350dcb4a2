"""The knowledge base at scale: ``search_articles`` over N articles, as tier 0's suggestions call it with a
ticket's subject and body, and as the help centre calls it with a short question.

Steps, per backend: a fresh PostgreSQL database ``tierroute_bench_kb`` (or a SQLite file); the example
knowledge base (``rules/kb/``) and N - 23 generated articles bulk-inserted 1,000 per statement (titles,
keywords and bodies drawn from a support vocabulary with a Zipf-like spread plus rare pseudo-words, in
English with one article in ten in German or French, one in five for a customer tier or a product). The
search index is built by the database's own triggers as the rows go in (migration 0024). Then R searches of
each kind, in this process, each in a session of its own (connection from the warm pool, the query, the
snippets):

- ticket: a ticket's subject and body (20 to 60 words, up to ``MAX_QUERY_WORDS`` searched), for a customer
  tier and sometimes a product, limit 3 (what tier 0's suggestions do);
- question: two to four words, public articles only, limit 10 (the help centre's search).

Target (issue 19): p99 <= 20 ms with 10,000 articles, on PostgreSQL and on SQLite.

Then the suggestion part (``bench/_kb_suggestions.py``): what tier 0's suggested articles add to a tier-0
ticket over T tickets, at intake (target: at most 1 ms; suggestions are made in the automation job instead)
and in that job.

Usage: python bench/kb.py [--articles 10000] [--repeat 300] [--tickets 2000] [--part search|suggestions|both]
       [--backend postgres|sqlite|both] [--small] [--keep]
``--small`` (300 articles, 30 searches of each kind, 100 tickets) checks that the script runs. ``--keep``
reuses the database of an earlier ``--keep`` run with as many articles (else loads it) and leaves it for the
next: before/after comparisons of the search on the same data, and ``EXPLAIN`` on it by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The repository before bench/ on the path: bench/rules.py must not shadow the ``rules`` package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import _common as c
from bench._kb_suggestions import TARGET_MS as SUGGESTION_TARGET_MS
from bench._kb_suggestions import suggestion_cost

PG_DB = "tierroute_bench_kb"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
TARGET_MS = 20.0
BATCH = 1_000

#: Support words by rank (weight 1/rank): the first are in many articles, the last in few.
WORDS = """
account password login email invoice payment error users settings report export import api billing team
subscription card refund webhook upload file access data sync mobile app browser certificate sso saml
seats plan workspace integration token permission role admin domain notification calendar dashboard
timeout outage status limit request response endpoint signature delivery message sms carrier number
phone verification code authenticator recovery backup restore delete archive history audit gdpr privacy
contract renewal discount coupon tax vat address currency receipt statement charge dispute chargeback
locked blocked reset forgot expired invalid missing duplicate slow blank loading crash freeze update
""".split()  # noqa: SIM905
GERMAN = "konto passwort anmeldung rechnung zahlung fehler benutzer einstellungen export daten".split()  # noqa: SIM905
FRENCH = "compte mot passe connexion facture paiement erreur utilisateurs paramètres données".split()  # noqa: SIM905
PRODUCTS = ["messaging", "payments", "analytics", "mobile"]
FILLER = "please help we our since today again customers tried yesterday still cannot urgent thanks".split()  # noqa: SIM905


def fresh_postgres() -> None:
    import psycopg

    with psycopg.connect(c.PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


async def _kept_articles(url: str) -> int:
    """How many articles the kept database holds (0: none, or not loaded to the end)."""
    from sqlalchemy import text

    from router.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM kb_article"))).scalar_one())
    except Exception:
        return 0
    finally:
        await engine.dispose()


def kept_database(backend: str, articles: int) -> tuple[str, bool]:
    """The URL of the kept database for ``backend``, and whether it already holds ``articles`` articles."""
    if backend == "postgres":
        import psycopg

        with psycopg.connect(c.PG_ADMIN_DSN, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone()
        url = PG_URL
        if exists and asyncio.run(_kept_articles(url)) == articles:
            return url, True
        fresh_postgres()
        return url, False
    folder = c.BENCH_ROOT / "kb-kept"
    path = folder / f"kb-{articles}.db"
    url = f"sqlite+aiosqlite:///{path}"
    if path.exists() and asyncio.run(_kept_articles(url)) == articles:
        return url, True
    folder.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return url, False


class Vocabulary:
    """Support words (Zipf-weighted) and rare pseudo-words, drawn reproducibly."""

    def __init__(self, rng: random.Random, rare: int = 20_000) -> None:
        letters = "abcdefghijklmnopqrstuvwxyz"
        extra = sorted({"".join(rng.choices(letters, k=rng.randint(5, 9))) for _ in range(rare)})
        self.words = WORDS + extra
        self.weights = [1 / (rank + 1) for rank in range(len(self.words))]
        self.rng = rng

    def draw(self, k: int) -> list[str]:
        return self.rng.choices(self.words, weights=self.weights, k=k)


def generated_article(i: int, vocab: Vocabulary) -> dict[str, Any]:
    rng = vocab.rng
    roll = rng.random()
    locale, pool = ("de", GERMAN) if roll < 0.05 else ("fr", FRENCH) if roll < 0.1 else ("en", None)
    title_words = vocab.draw(rng.randint(3, 7)) if pool is None else rng.choices(pool, k=4)
    body_words = vocab.draw(rng.randint(80, 250)) + (rng.choices(pool, k=40) if pool else [])
    body = " ".join(body_words)
    return {
        "slug": f"article-{i}",
        "title": " ".join(title_words).capitalize(),
        "body": body,
        "plain_text": body,
        "keywords": json.dumps(vocab.draw(rng.randint(2, 6))),
        "locale": locale,
        "status": "published" if rng.random() < 0.95 else "draft",
        "tiers": json.dumps(sorted(rng.sample([1, 2, 3, 4], rng.randint(1, 2))) if rng.random() < 0.2 else []),
        "products": json.dumps([rng.choice(PRODUCTS)] if rng.random() < 0.2 else []),
        "version": 1,
    }


async def load(url: str, articles: int, rng: random.Random) -> None:
    """The example knowledge base through the import (as ``tierroute demo``), the rest by statement."""
    from sqlalchemy import text

    from router.db import make_engine, make_sessionmaker, migrate
    from router.kb import files, importing

    await asyncio.to_thread(migrate, url)
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        async with sessions() as s:
            await importing.import_articles(s, files.read_folder(files.EXAMPLE_FOLDER))
            await s.commit()
        vocab = Vocabulary(rng)
        insert = text(
            "INSERT INTO kb_article (slug, title, body, plain_text, keywords, locale, status, tiers, products, "
            "version, created_at, updated_at) VALUES (:slug, :title, :body, :plain_text, :keywords, :locale, "
            ":status, :tiers, :products, :version, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
        first = len(list(files.EXAMPLE_FOLDER.glob("*.md")))
        for start in range(first, articles, BATCH):
            rows = [generated_article(i, vocab) for i in range(start, min(start + BATCH, articles))]
            async with engine.begin() as conn:
                await conn.execute(insert, rows)
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("ANALYZE kb_article; ANALYZE kb_article_search"))
    finally:
        await engine.dispose()


def ticket_text(vocab: Vocabulary) -> str:
    rng = vocab.rng
    words = vocab.draw(rng.randint(12, 40)) + rng.choices(FILLER, k=rng.randint(8, 20))
    rng.shuffle(words)
    return f"{' '.join(vocab.draw(4))}\n{' '.join(words)}"


async def measure(url: str, repeat: int, rng: random.Random) -> list[list[object]]:
    from router.db import make_engine, make_sessionmaker
    from router.kb.search import search_articles

    vocab = Vocabulary(rng)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    kinds: dict[str, Callable[[], dict[str, Any]]] = {
        "ticket (tier 0 suggestions)": lambda: {
            "query": ticket_text(vocab),
            "customer_tier": rng.randint(1, 4),
            "product": rng.choice([None, None, *PRODUCTS]),
            "limit": 3,
        },
        "question (help centre)": lambda: {
            "query": " ".join(vocab.draw(rng.randint(2, 4))),
            "public_only": True,
            "limit": 10,
        },
    }
    rows: list[list[object]] = []
    try:
        for name, make in kinds.items():
            samples, found = [], 0
            for i in range(repeat + 10):
                args = make()
                query = args.pop("query")
                started = time.perf_counter()
                async with sessions() as s:
                    hits = await search_articles(s, query, **args)
                elapsed = time.perf_counter() - started
                if i >= 10:  # the first ten warm the pool and the caches
                    samples.append(elapsed)
                    found += bool(hits)
            stats = c.summary_ms(samples)
            verdict = "ok" if stats["p99"] <= TARGET_MS else "OVER"
            rows.append(
                [
                    name,
                    stats["n"],
                    f"{found / len(samples):.0%}",
                    stats["p50"],
                    stats["p90"],
                    stats["p99"],
                    stats["max"],
                    verdict,
                ]
            )
    finally:
        await engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--tickets", type=int, default=2_000, help="tier-0 tickets for the suggestion part")
    parser.add_argument("--part", choices=["search", "suggestions", "both"], default="both")
    parser.add_argument("--small", action="store_true", help="300 articles, 30 searches of each kind, 100 tickets")
    parser.add_argument("--keep", action="store_true", help="reuse (or load and leave) the database of the articles")
    args = parser.parse_args()
    if args.small:
        args.articles, args.repeat, args.tickets = 300, 30, 100
    backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    print(f"knowledge-base search: {args.articles:,} articles, {args.repeat} searches of each kind; {c.code_version()}")
    for backend in backends:
        loaded = False
        if args.keep:
            url, loaded = kept_database(backend, args.articles)
        elif backend == "postgres":
            fresh_postgres()
            url = PG_URL
        else:
            url = f"sqlite+aiosqlite:///{c.fresh_dir('kb') / 'kb.db'}"
        if loaded:
            from router.db import migrate

            migrate(url)  # the code measured may bring a migration
            print(f"{backend}: {args.articles:,} articles kept from an earlier run")
        else:
            started = time.perf_counter()
            asyncio.run(load(url, args.articles, random.Random(11)))
            print(f"{backend}: {args.articles:,} articles loaded and indexed in {time.perf_counter() - started:.1f} s")
        if args.part in ("search", "both"):
            rows = asyncio.run(measure(url, args.repeat, random.Random(12)))
            c.print_table(
                f"search_articles on {backend}, {args.articles:,} articles (target p99 <= {TARGET_MS:.0f} ms)",
                ["search", "n", "found", "p50 ms", "p90 ms", "p99 ms", "max ms", "target"],
                rows,
            )
        if args.part in ("suggestions", "both"):
            data_dir = c.fresh_dir(f"kb-suggestions-{backend}")
            cost = asyncio.run(suggestion_cost(url, data_dir, args.tickets, WORDS, random.Random(13)))
            c.print_table(
                f"tier-0 suggestions on {backend}, {args.articles:,} articles, {args.tickets:,} tickets "
                f"(target: at most {SUGGESTION_TARGET_MS:.0f} ms added to intake per ticket)",
                ["acknowledgements", "tickets", "intake ms/ticket", "job ms/ticket", "job CPU ms/ticket",
                 "suggested/ticket", "target"],
                cost,
            )  # fmt: skip


if __name__ == "__main__":
    main()
