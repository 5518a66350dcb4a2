"""The breach forecast, pure: plain numbers in (due times in claim order, capacity, a handling rate), plain
numbers out. No database, web framework or Redis here (like ``rules/``), so it is table-tested and benched.

The model is a fluid queue: the tier's agents together take ``capacity * rate`` tickets an hour, in claim
order, so the ticket at position ``i`` (0 = the head) is picked up after ``(i + 1) / (capacity * rate)``
hours, the mean wait for the ``i + 1``-th claim when claims arrive as a Poisson process of that rate.
Tickets arriving later are not modelled: a more urgent arrival pushes the queue back, which the next run
(every few minutes) sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Prediction:
    #: 0-based place in claim order.
    position: int
    #: Predicted pick-up, epoch seconds; None when nobody works the tier (never picked up).
    start: float | None
    #: The soonest SLA due time, epoch seconds; None without a counting clock.
    due: float | None
    #: Predicted to be picked up after its due time (and not already overdue).
    breach: bool


@dataclass(frozen=True, slots=True)
class Forecast:
    """Parallel lists in claim order (a 100,000-ticket tier is forecast in a few list passes, no object per
    ticket); ``predictions`` builds the objects for the ones a caller shows."""

    now: float
    capacity: int
    #: Claims per agent-hour the forecast assumed.
    rate: float
    due: Sequence[float | None]
    #: Predicted pick-up per position, epoch seconds; None when nobody works the tier.
    starts: list[float | None]
    #: Predicted to be picked up after its due time (and not already overdue).
    flags: list[bool]
    #: Waiting tickets already past their due time (breached, or about to be announced): not predictions.
    overdue: int

    def predictions(self, offset: int = 0, limit: int | None = None) -> list[Prediction]:
        stop = len(self.flags) if limit is None else min(len(self.flags), offset + limit)
        return [Prediction(i, self.starts[i], self.due[i], self.flags[i]) for i in range(offset, stop)]

    @property
    def breaches(self) -> list[Prediction]:
        return [Prediction(i, self.starts[i], self.due[i], True) for i, b in enumerate(self.flags) if b]

    def breaches_within(self, seconds: float) -> int:
        """Predicted breaches whose due time falls within ``seconds`` from now ("in the next 2 h")."""
        limit = self.now + seconds
        return sum(1 for d, b in zip(self.due, self.flags, strict=True) if b and d is not None and d <= limit)


def forecast(due: Sequence[float | None], *, now: float, capacity: int, rate: float) -> Forecast:
    """Predict each waiting ticket's pick-up.

    :param due: each waiting ticket's soonest SLA due time (epoch seconds, None: no clock), in claim order.
    :param now: the moment of the forecast, epoch seconds.
    :param capacity: agents taking work in the tier (``router.forecast.capacity``).
    :param rate: claims per agent-hour (``handling_rate``).
    """
    throughput = capacity * rate / HOUR  # tickets per second
    overdue = sum(1 for d in due if d is not None and d <= now)
    starts: list[float | None]
    if throughput <= 0:
        starts = [None] * len(due)
        flags = [d is not None and d > now for d in due]
    else:
        step = 1.0 / throughput
        starts = [now + (i + 1) * step for i in range(len(due))]
        flags = [d is not None and now < d < s for d, s in zip(due, starts, strict=True)]  # type: ignore[operator]
    return Forecast(now, capacity, rate, due, starts, flags, overdue)


def handling_rate(claims: Iterable[tuple[str, float]], *, default: float) -> float:
    """Claims per agent-hour from recent claims ``(agent, epoch seconds)``: the claims over the agent-hours
    they fall in (each distinct agent and clock hour with a claim counts as one hour worked). ``default``
    when there is no history. Once agents have a status, the hours come from their availability instead.
    """
    count = 0
    hours: set[tuple[str, int]] = set()
    for agent, at in claims:
        count += 1
        hours.add((agent, int(at // HOUR)))
    return claims_per_agent_hour(count, len(hours), default=default)


def claims_per_agent_hour(claims: int, agent_hours: int, *, default: float) -> float:
    """``handling_rate`` from counts the database made (``router.forecast.queries.recent_handling``)."""
    return claims / agent_hours if agent_hours else default


@dataclass(frozen=True)
class Accuracy:
    #: Predictions settled (claimed, moved or breached); open ones are left out.
    settled: int
    came_true: int
    #: Tickets that breached while waiting in the period (predicted or not).
    breached: int
    #: Of those, the ones a prediction caught.
    caught: int

    @property
    def precision(self) -> float | None:
        return self.came_true / self.settled if self.settled else None

    @property
    def recall(self) -> float | None:
        return self.caught / self.breached if self.breached else None


def accuracy(predictions: Iterable[tuple[int, bool | None]], breached: Iterable[int]) -> Accuracy:
    """Precision (settled predictions that came true) and recall (tickets that breached while waiting that a
    prediction caught), from predictions ``(ticket id, came true)`` and the ids of tickets that breached
    while waiting. A ticket whose prediction came true counts as breached even if no breach was recorded."""
    settled = came_true = 0
    caught: set[int] = set()
    for ticket_id, outcome in predictions:
        if outcome is None:
            continue
        settled += 1
        if outcome:
            came_true += 1
            caught.add(ticket_id)
    actual = set(breached) | caught
    return Accuracy(settled, came_true, len(actual), len(caught))
