"""The order of a tier queue: priority first, then customer tier (the best first), then age (oldest first).

All three are packed into one sorted-set score so Redis keeps the order and ``ZPOPMIN`` takes the head:
``(priority_rank * 8 + customer_rank) * 2**41 + milliseconds since 2020``, where the customer's rank is 1
for the best tier on the installation's scale (``rules.vocabulary.TierScale``: tier 1 or tier 4). 2**41 ms
is ~69 years, and the largest score stays below 2**53, so every score is an exact double.
"""

from __future__ import annotations

from datetime import datetime

from rules.vocabulary import PRIORITY_RANK, tier_rank

_EPOCH_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
_AGE_SPAN = 2**41


def created_ms(created_at: datetime) -> int:
    return int(created_at.timestamp() * 1000)


def queue_score(priority: str, customer_tier: int, created_at: datetime) -> float:
    age_part = min(max(created_ms(created_at) - _EPOCH_MS, 0), _AGE_SPAN - 1)
    return float((PRIORITY_RANK[priority] * 8 + tier_rank(customer_tier)) * _AGE_SPAN + age_part)
