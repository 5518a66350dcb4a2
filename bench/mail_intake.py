"""Email intake speed: messages per second parsed, and parsed + ingested (committed) for a mix of the
104 corpus messages, on PostgreSQL (database tierroute_bench) and SQLite, with Redis DB 14.

Each pass gives every corpus message a fresh Message-ID so nothing is deduplicated. Target: >= 300/s.

    python bench/mail_intake.py [--messages 2000] [--backend postgres|sqlite|both]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import PG_ADMIN_DSN, code_version, fresh_dir, print_table
from queues.runtime import open_runtime
from router.intake import email_service
from router.intake.mime import UnreadableEmail, parse_email
from router.settings import Settings
from router.tickets.actors import Actor
from router.unit_of_work import commit

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "mail"
#: Its own database and Redis DB, so it can run beside the other benchmarks (which use DB 14).
PG_DB = "tierroute_bench_email"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
REDIS_URL = "redis://127.0.0.1:6379/15"


def reset() -> None:
    import psycopg
    import redis

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()


_MESSAGE_ID = re.compile(rb"(?im)^message-id:[^\r\n]*\r?\n")


def corpus() -> list[bytes]:
    out = []
    for path in sorted(CORPUS.rglob("*")):
        if path.is_file() and path.name not in ("README.md", "LICENSE", ".gitattributes"):
            raw = path.read_bytes()
            try:
                parse_email(raw)
            except UnreadableEmail:
                continue
            out.append(_MESSAGE_ID.sub(b"", raw, count=1))
    return out


def with_id(raw: bytes, n: int) -> bytes:
    return b"Message-ID: <bench-%d@bench.example>\r\n" % n + raw


def parse_rate(messages: list[bytes], count: int) -> float:
    start = time.perf_counter()
    for i in range(count):
        parse_email(with_id(messages[i % len(messages)], i))
    return count / (time.perf_counter() - start)


async def ingest_rate(
    settings: Settings, messages: list[bytes], count: int, concurrency: int
) -> tuple[float, dict[str, int]]:
    """Messages ingested and committed per second, ``concurrency`` at a time (like parallel SMTP sessions)."""
    outcomes: dict[str, int] = {}
    gate = asyncio.Semaphore(concurrency)
    async with open_runtime(settings) as runtime:
        app = runtime.app

        async def one(i: int) -> None:
            async with gate, app.sessionmaker() as session:
                result = await email_service.ingest(
                    session,
                    app.effects,
                    with_id(messages[i % len(messages)], i),
                    settings=app.settings,
                    store=app.blobs,
                    source="email:bench",
                    actor=Actor("bench"),
                )
                await commit(session, app.effects)
            outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return count / (time.perf_counter() - start), outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    messages = corpus()
    rows: list[list[object]] = [["parse only", "-", f"{parse_rate(messages, args.messages):.0f}", "-"]]
    backends = ["postgres", "sqlite"] if args.backend == "both" else [args.backend]
    for backend in backends:
        data = fresh_dir(f"email-{backend}")
        reset()
        url = PG_URL if backend == "postgres" else f"sqlite+aiosqlite:///{data / 'bench.db'}"
        settings = Settings(database_url=url, redis_url=REDIS_URL, data_dir=data, mail_rate_limit=10**9)
        rate, outcomes = asyncio.run(ingest_rate(settings, messages, args.messages, args.concurrency))
        rows.append(
            [
                f"parse + ingest + commit ({backend}, {args.concurrency} at a time)",
                len(messages),
                f"{rate:.0f}",
                outcomes,
            ]
        )
    reset()
    print_table(
        f"email intake, {args.messages} corpus messages (target >= 300/s); {code_version()}",
        ["what", "distinct corpus messages", "messages/s", "outcomes"],
        rows,
    )


if __name__ == "__main__":
    main()
