"""Rules engine speed: µs per ticket for generated rulebooks of 10, 1,000 and 10,000 rules.

The rulebooks mix the language's kinds of rules as a real one would (keywords, RE2 regexes, equality on
customer attributes and domains, nested all/any/not with customer tiers). Tickets are drawn from the same
vocabulary, so a few rules match each one. Prints p50/p99 per ticket and the ratio to 10 rules.

    python bench/rules.py [--tickets 3000] [--sizes 10,1000,10000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import percentile, print_table
from rules import Snapshot, parse_rulebook

WORDS = [f"w{n:05d}" for n in range(20_000)]
#: Ordinary words no rule mentions: most of a ticket's text.
FILLER = [f"f{n:05d}" for n in range(5_000)]
PLANS = [f"plan{n}" for n in range(200)]
DOMAINS = [f"d{n}.example" for n in range(2_000)]


def rule_yaml(i: int, rng: random.Random) -> str:
    kind = rng.random()
    rid = f"r{i}"
    tier = rng.randint(0, 4)
    if kind < 0.55:
        words = ", ".join(rng.sample(WORDS, 3))
        when = f"{{field: text, keywords_any: [{words}]}}"
    elif kind < 0.70:
        when = f"{{field: subject, regex: 'ORD-{i}[0-9]{{3}}\\b'}}"
    elif kind < 0.80:
        when = f"{{field: customer.plan, equals: {rng.choice(PLANS)}}}"
    elif kind < 0.88:
        when = f"{{field: sender_domain, in: [{', '.join(rng.sample(DOMAINS, 2))}]}}"
    else:
        word = rng.choice(WORDS)
        when = (
            f"{{all: [{{field: body, keywords_all: [{word}, {rng.choice(WORDS)}]}}, "
            f"{{field: customer_tier, in: [1, 2]}}, {{not: {{field: tags, equals: spam}}}}]}}"
        )
    return f"  - id: {rid}\n    when: {when}\n    then: {{support_tier: {tier}, tags: [t{i % 50}]}}\n"


def rulebook_text(size: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    return "defaults: {support_tier: 1}\nrules:\n" + "".join(rule_yaml(i, rng) for i in range(size))


def tickets(count: int, seed: int = 2) -> list[Snapshot]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = rng.choices(FILLER, k=120)
        for _ in range(3):  # a few words some rule may be looking for
            words[rng.randrange(len(words))] = rng.choice(WORDS)
        out.append(
            Snapshot(
                subject=f"{' '.join(words[:8])} ORD-{rng.randint(0, 99999)}",
                body=" ".join(words[8:]),
                sender=f"user@{rng.choice(DOMAINS) if rng.random() < 0.2 else 'mail.example'}",
                customer_tier=rng.randint(1, 4),
                attributes={"plan": rng.choice(PLANS) if rng.random() < 0.5 else "standard"},
                tags=("beta",),
            )
        )
    return out


def measure(size: int, sample: list[Snapshot]) -> dict[str, float]:
    text = rulebook_text(size)
    start = time.perf_counter()
    book = parse_rulebook(text, f"generated-{size}")
    compile_s = time.perf_counter() - start
    for snapshot in sample[:200]:  # warm up
        book.evaluate(snapshot)
    timings = []
    matched = 0
    for snapshot in sample:
        t0 = time.perf_counter_ns()
        decision = book.evaluate(snapshot)
        timings.append((time.perf_counter_ns() - t0) / 1000)
        matched += len(decision.matched)
    timings.sort()
    return {
        "rules": size,
        "compile_s": compile_s,
        "p50_us": percentile(timings, 50),
        "p99_us": percentile(timings, 99),
        "mean_us": sum(timings) / len(timings),
        "matched_per_ticket": matched / len(sample),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--sizes", default="10,1000,10000")
    args = parser.parse_args()
    sample = tickets(args.tickets)
    results = [measure(int(size), sample) for size in args.sizes.split(",")]
    base = results[0]
    rows = [
        [
            r["rules"],
            f"{r['compile_s']:.2f}",
            f"{r['p50_us']:.1f}",
            f"{r['p99_us']:.1f}",
            f"{r['mean_us']:.1f}",
            f"{r['p50_us'] / base['p50_us']:.2f}",
            f"{r['p99_us'] / base['p99_us']:.2f}",
            f"{r['matched_per_ticket']:.2f}",
        ]
        for r in results
    ]
    print_table(
        f"rules engine, {args.tickets} tickets per rulebook (targets: 10,000 rules p99 <= 1000 us, <= 5x 10 rules)",
        ["rules", "compile s", "p50 us", "p99 us", "mean us", "p50 ratio", "p99 ratio", "rules matched/ticket"],
        rows,
    )


if __name__ == "__main__":
    main()
