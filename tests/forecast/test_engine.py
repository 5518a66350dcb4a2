"""The pure forecast: table cases, and a simulated day with known arrival and handling rates."""

from __future__ import annotations

import random
from collections import deque

import pytest

from router.forecast.engine import HOUR, accuracy, forecast, handling_rate

NOW = 1_000_000.0


def test_positions_are_picked_up_at_the_tier_throughput() -> None:
    # 2 agents x 3 claims an hour: one ticket every 10 minutes.
    f = forecast([NOW + 900, NOW + 1100, None, NOW + 60], now=NOW, capacity=2, rate=3)
    assert [p.start for p in f.predictions()] == [NOW + 600, NOW + 1200, NOW + 1800, NOW + 2400]
    assert [p.breach for p in f.predictions()] == [False, True, False, True]
    assert f.breaches_within(1000) == 1  # the 4th is due within 1000 s, the 2nd later
    assert f.overdue == 0


def test_overdue_tickets_are_counted_not_predicted() -> None:
    f = forecast([NOW - 1, NOW + 10], now=NOW, capacity=1, rate=1)
    assert f.overdue == 1
    assert [p.breach for p in f.predictions()] == [False, True]


@pytest.mark.parametrize(("capacity", "rate"), [(0, 4.0), (3, 0.0)])
def test_nobody_to_pick_up_means_every_clock_breaches(capacity: int, rate: float) -> None:
    f = forecast([NOW + 3600, None, NOW - 5], now=NOW, capacity=capacity, rate=rate)
    assert [p.start for p in f.predictions()] == [None, None, None]
    assert [p.breach for p in f.predictions()] == [True, False, False]
    assert f.overdue == 1


def test_handling_rate_is_claims_per_agent_hour_worked() -> None:
    claims = [("agent:1", 10.0), ("agent:1", 20.0), ("agent:1", HOUR + 5), ("agent:2", 30.0)]
    assert handling_rate(claims, default=4.0) == 4 / 3
    assert handling_rate([], default=4.0) == 4.0


def test_accuracy_counts_settled_predictions_and_caught_breaches() -> None:
    got = accuracy([(1, True), (2, False), (3, None), (4, True), (4, True)], breached=[1, 5, 6])
    assert (got.settled, got.came_true, got.breached, got.caught) == (4, 3, 4, 2)
    assert got.precision == 3 / 4
    assert got.recall == 2 / 4
    empty = accuracy([], breached=[])
    assert empty.precision is None and empty.recall is None


def _simulated_day(seed: int) -> tuple[int, int, int]:
    """A day of one tier: 6 agents handling 5 tickets an hour each (claims a Poisson process of 30/h),
    arrivals a Poisson process of 20/h, 50/h from 10:00 to 13:00 (the overload), 20/h again after; a 1 h
    SLA from arrival; first come, first served (one priority). Every 10 minutes the forecast is made from
    the queue as it stands; each (snapshot, ticket) pair is then compared with when the simulated day
    actually picked the ticket up. Returns (predicted breaches, actual breaches, pairs that disagree)."""
    rng = random.Random(seed)
    agents, rate, sla = 6, 5.0, HOUR

    def arrival_rate(t: float) -> float:
        return 50.0 if 10 * HOUR <= t < 13 * HOUR else 20.0

    arrivals: list[float] = []
    t = 0.0
    while t < 24 * HOUR:
        t += rng.expovariate(50.0 / HOUR)  # thinning: candidates at the peak rate, kept at the rate of the hour
        if rng.random() < arrival_rate(t) / 50.0:
            arrivals.append(t)
    start = [float("inf")] * len(arrivals)
    queue: deque[int] = deque()
    snapshots: list[tuple[float, list[int]]] = []
    next_arrival, claim_at, snap_at = 0, rng.expovariate(agents * rate / HOUR), 0.0
    while claim_at < 30 * HOUR:
        upcoming = arrivals[next_arrival] if next_arrival < len(arrivals) else float("inf")
        moment = min(upcoming, claim_at, snap_at)
        if moment == snap_at:
            if snap_at < 24 * HOUR:
                snapshots.append((snap_at, list(queue)))
            snap_at += 600
        elif moment == upcoming:
            queue.append(next_arrival)
            next_arrival += 1
        else:
            if queue:
                start[queue.popleft()] = claim_at
            claim_at += rng.expovariate(agents * rate / HOUR)
    predicted = actual = disagree = 0
    for now, waiting in snapshots:
        f = forecast([arrivals[i] + sla for i in waiting], now=now, capacity=agents, rate=rate)
        for i, p in zip(waiting, f.predictions(), strict=True):
            if p.due is not None and p.due <= now:
                continue  # overdue already: not a prediction
            real = start[i] > arrivals[i] + sla
            predicted += p.breach
            actual += real
            disagree += p.breach != real
    return predicted, actual, disagree


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_predicted_breaches_match_a_simulated_day(seed: int) -> None:
    """Stated tolerance: over the day, predicted breaches within 15 % of the simulated ones, and at most
    15 % of the (snapshot, ticket) pairs with a breach on either side disagree."""
    predicted, actual, disagree = _simulated_day(seed)
    assert actual > 100, "the day must breach for the comparison to mean anything"
    assert abs(predicted - actual) <= 0.15 * actual, (predicted, actual)
    assert disagree <= 0.15 * (predicted + actual), (predicted, actual, disagree)


def test_forecast_of_a_large_tier_is_quick() -> None:
    due = [NOW + i for i in range(100_000)]
    f = forecast(due, now=NOW, capacity=50, rate=4)
    assert len(f.flags) == 100_000


def test_the_engine_is_pure() -> None:
    """Like ``rules/``: no database, web framework, Redis or application import (``tests/test_layers.py``)."""
    import ast
    from pathlib import Path

    from router.forecast import engine
    from tests.test_layers import RULES_MAY_NOT_IMPORT, within

    tree = ast.parse(Path(engine.__file__).read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if within(n, RULES_MAY_NOT_IMPORT)]
