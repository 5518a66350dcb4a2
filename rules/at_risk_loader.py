"""The tier policy's ``at_risk:`` section (the early warning before a slip), read for ``rules.tier_loader``
with its checker, so every mistake is located like the rest of the policy's."""

from __future__ import annotations

from typing import Any, Protocol

from rules.tiers import AT_RISK_SIGNALS, AtRisk
from rules.vocabulary import CUSTOMER_TIERS, MAX_CUSTOMER_TIER, MIN_CUSTOMER_TIER


class Checker(Protocol):
    """What ``rules.tier_loader``'s checker offers."""

    def fail(self, node: Any, key: Any, message: str) -> None: ...

    def integer(self, node: Any, key: Any, low: int, high: int) -> int | None: ...

    def mapping(self, node: Any, key: Any, what: str) -> dict[Any, Any] | None: ...

    def unknown(self, node: dict[Any, Any], known: tuple[str, ...], what: str) -> None: ...


#: The longest rolling window of the early warning (a year).
MAX_AT_RISK_DAYS = 366
MAX_AT_RISK_COUNT = 1_000_000


def parse_at_risk(c: Checker, doc: Any) -> AtRisk | None:
    """``at_risk: {tiers: [1], window_days: 30, breaches: 3, escalations: 5, reopens: 3, tickets: 40}``."""
    if "at_risk" not in doc:
        return None
    node = c.mapping(doc, "at_risk", "tiers, window_days and thresholds (breaches, escalations, reopens, tickets)")
    if node is None:
        return None
    c.unknown(node, ("tiers", "window_days", *AT_RISK_SIGNALS), "at_risk")
    watched: list[int] = []
    tiers = node.get("tiers")
    if not isinstance(tiers, list) or not tiers:
        c.fail(node if "tiers" in node else doc, "tiers" if "tiers" in node else "at_risk",
               "at_risk needs tiers: the customer tiers watched, such as [1] or [1, 2]")  # fmt: skip
    else:
        for i, tier in enumerate(tiers):
            if isinstance(tier, bool) or tier not in CUSTOMER_TIERS:
                c.fail(tiers, i, f"a watched tier is {MIN_CUSTOMER_TIER} to {MAX_CUSTOMER_TIER}, got {tier!r}")
            elif tier in watched:
                c.fail(tiers, i, f"tier {tier} is watched twice")
            else:
                watched.append(int(tier))
    days = c.integer(node, "window_days", 1, MAX_AT_RISK_DAYS) if "window_days" in node else 30
    thresholds: dict[str, int] = {}
    for signal in AT_RISK_SIGNALS:
        if signal in node and (least := c.integer(node, signal, 1, MAX_AT_RISK_COUNT)) is not None:
            thresholds[signal] = least
    if not any(s in node for s in AT_RISK_SIGNALS):
        c.fail(doc, "at_risk", f"at_risk needs at least one threshold: {', '.join(AT_RISK_SIGNALS)}")
    if days is None or not watched or not thresholds:
        return None
    return AtRisk(tuple(watched), days, thresholds)
