"""``bench/kb.py``'s suggestion part: what tier 0's suggested articles cost per tier-0 ticket.

Suggestions are made by tier automation's batched job (``automation.run_batch``), never in the intake
request: the target (at most 1 ms per tier-0 ticket added to intake) holds by design, and the table shows
it measured. What a tier-0 ticket costs more is the job's work: one knowledge-base search per distinct
question (``search_articles``, the search part's figures), one insert of the batch's suggestions, the links
signed, a longer acknowledgement; the table shows that too, wall time and this process's CPU.

On the knowledge base ``bench/kb.py`` loaded, N how-to questions in the generated support vocabulary are
opened by batched intake's ``open_batch`` (100 at a time) and acknowledged by ``run_batch`` with suggestions
off; the same N questions again with suggestions on (3 per ticket). The database and the job share this
process, as a worker would; Redis is not needed (the effects a transaction records are dropped).
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

#: How many tickets intake opens per batch here (the batcher's groups are of this order under load).
INTAKE_BATCH = 100
TARGET_MS = 1.0


#: Words that make the default rulebook route a question above tier 0 (billing, technical, outage, vendor).
_ESCALATING_TEXT = """error bug exception api integration timeout crash ssl certificate webhook sso outage invoice
    billing refund charged receipt subscription carrier sms down breach corrupted failed failing payment"""
ESCALATING = frozenset(_ESCALATING_TEXT.split())


def _question(rng: random.Random, words: list[str]) -> tuple[str, str]:
    """A how-to question (the rulebook routes it to tier 0 for a break-even requester) in support words."""
    calm = [w for w in words if w not in ESCALATING]
    subject = "How do I " + " ".join(rng.choices(calm[:50], k=3))
    body = " ".join(rng.choices(calm, k=rng.randint(15, 45)))
    return subject, body


def _item(tag: str, n: int, subject: str, body: str) -> Any:
    from router.tickets.inputs import NewTicket, TicketContext

    return NewTicket(
        source="api:bench", delivery_id=f"{tag}-{n}", subject=subject, body=body,
        requester_email=f"{tag}-{n}@customer.example", customer_ref=None, priority_hint=None,
        channel="api", actor="system", default_customer_tier=3, context=TicketContext(),
    )  # fmt: skip


async def _open(sessions: Any, rulebook: Any, questions: list[tuple[str, str]], tag: str) -> list[int]:
    from router.tickets.inputs import Opened
    from router.tickets.opening import open_batch

    ids: list[int] = []
    for start in range(0, len(questions), INTAKE_BATCH):
        page = enumerate(questions[start : start + INTAKE_BATCH], start=start)
        items = [_item(tag, n, subject, body) for n, (subject, body) in page]
        async with sessions() as s:
            outcomes = await open_batch(s, items, rulebook)
            await s.commit()
        ids += [o.ticket_id for o in outcomes if isinstance(o, Opened)]
    return ids


async def _acknowledge(sessions: Any, settings: Any, templates: Any, up_to: int) -> tuple[int, float, float]:
    """``run_batch`` pages (as the job runs them) until tier 0 has nothing waiting up to ``up_to``."""
    from router.automation import service as automation

    done, wall, cpu = 0, 0.0, 0.0
    while True:
        started, started_cpu = time.perf_counter(), time.process_time()
        async with sessions() as s:
            acknowledged, taken = await automation.run_batch(s, 0, templates=templates, settings=settings, up_to=up_to)
            await s.commit()
        wall += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
        done += acknowledged
        if taken < automation.BATCH_LIMIT:
            return done, wall, cpu


async def suggestion_cost(
    url: str, data_dir: Path, tickets: int, words: list[str], rng: random.Random
) -> list[list[object]]:
    from sqlmodel import func, select

    from router.audit.keys import SESSION_KEY as AUDIT_KEYRING
    from router.audit.keys import load_keyring
    from router.db import make_engine, make_sessionmaker
    from router.models.self_service import KbSuggestion
    from router.rendering import make_templates
    from router.routing.rulebook import RulebookProvider
    from router.settings import Settings
    from router.sla.policies import SESSION_KEY, SlaPolicyProvider

    settings = Settings(database_url=url, data_dir=data_dir, auto_replies_per_address_per_day=10**6)
    engine = make_engine(url)
    info = {SESSION_KEY: SlaPolicyProvider(settings.sla_policies), AUDIT_KEYRING: load_keyring(settings)}
    sessions = make_sessionmaker(engine, info=info)
    rulebook, templates = RulebookProvider(settings.rulebook).current(), make_templates()
    questions = [_question(rng, words) for _ in range(tickets)]
    rows: list[list[object]] = []
    try:
        await _open(sessions, rulebook, questions[:INTAKE_BATCH], "warm-up")  # warm the pool and the caches
        await _acknowledge(sessions, settings.model_copy(update={"self_service_suggestions": 0}), templates, 10**9)
        measured: dict[str, tuple[float, float, float]] = {}
        for label, wanted in (("suggestions off", 0), ("suggestions on (3)", 3)):
            started = time.perf_counter()
            ids = await _open(sessions, rulebook, questions, label.split()[1])
            intake_ms = (time.perf_counter() - started) * 1000 / len(ids)
            own = settings.model_copy(update={"self_service_suggestions": wanted})
            # The rulebook sends some questions elsewhere (a word such as "error" makes them technical): the
            # same ones both times, so both runs acknowledge the same tier-0 tickets.
            done, wall, cpu = await _acknowledge(sessions, own, templates, max(ids))
            measured[label] = (intake_ms, wall * 1000 / done, cpu * 1000 / done)
            rows.append([label, done, *(round(v, 3) for v in measured[label]), "", ""])
        async with sessions() as s:
            suggested = int((await s.exec(select(func.count()).select_from(KbSuggestion))).one())
        (off_intake, off_wall, off_cpu), (on_intake, on_wall, on_cpu) = measured.values()
        added_intake = on_intake - off_intake
        verdict = "ok" if added_intake <= TARGET_MS else "OVER"
        tier0 = int(str(rows[0][1]))
        added = (round(added_intake, 3), round(on_wall - off_wall, 3), round(on_cpu - off_cpu, 3))
        rows.append(["added by suggestions", tier0, *added, f"{suggested / tier0:.2f}", verdict])
    finally:
        await engine.dispose()
    return rows
