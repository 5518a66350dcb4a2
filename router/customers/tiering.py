"""The one door for a customer's value tier.

A change is kept in the tier history (who, why, from where — the tier policy, a person, an import — and for
a policy change the score with its components and the policy's version); the current tier moves and the
highest tier follows on the installation's scale (the onboarding tier stays); the administration log
records it; and the outbox gets ``customer.tier_changed`` plus ``customer.tier_slipped`` (to a worse tier)
or ``customer.tier_rose``, once per change, for webhook subscriptions. All in the caller's transaction.

``retier`` changes one customer; ``retier_many`` the moves of a tier review, a few statements for thousands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit import admin_log
from router.errors import Invalid
from router.events import service as events
from router.models.columns import text_length, utcnow
from router.models.customers import Customer, CustomerTierChange, TierSource
from rules.vocabulary import CUSTOMER_TIERS, MAX_CUSTOMER_TIER, MIN_CUSTOMER_TIER, best_of, better

TIER_CHANGED = "customer.tier_changed"
TIER_SLIPPED = "customer.tier_slipped"
TIER_ROSE = "customer.tier_rose"
#: The administration log's action for a tier change.
RETIERED = "customer.retiered"
HISTORY = CustomerTierChange.__table__  # type: ignore[attr-defined]
CUSTOMER = Customer.__table__  # type: ignore[attr-defined]
#: Customers per statement (well under both databases' limits on bound parameters).
_CHUNK = 1000


@dataclass(frozen=True)
class TierMove:
    """One customer's change of value tier, as the history, the log and the events tell it."""

    customer_id: int
    from_tier: int
    to_tier: int
    #: The best tier held before this change (the highest tier after it follows from both).
    highest_before: int
    reason: str
    source: str
    #: ``rules.scoring.Score.as_dict()`` for a policy change.
    score: dict[str, Any] | None = None
    policy_version: str | None = None

    @property
    def slipped(self) -> bool:
        return better(self.from_tier, self.to_tier)

    @property
    def highest_after(self) -> int:
        return best_of(self.highest_before, self.to_tier)

    def details(self, actor: str) -> dict[str, Any]:
        """What the log (``tier: [before, after]``) and the events say about the change."""
        return {
            "tier": [self.from_tier, self.to_tier],
            "from_tier": self.from_tier,
            "to_tier": self.to_tier,
            "highest_tier": self.highest_after,
            "direction": "slipped" if self.slipped else "rose",
            "reason": self.reason,
            "source": self.source,
            "actor": actor,
            "policy_version": self.policy_version,
            "score": self.score,
        }


def checked_tier(tier: int) -> int:
    if isinstance(tier, bool) or tier not in CUSTOMER_TIERS:
        raise Invalid(f"customer tier must be {MIN_CUSTOMER_TIER} to {MAX_CUSTOMER_TIER}, got {tier}", field="tier")
    return tier


def checked_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise Invalid("a tier change needs a reason", field="reason")
    if len(reason) > (limit := text_length(CustomerTierChange, "reason")):
        raise Invalid(f"a reason has at most {limit} characters, got {len(reason)}", field="reason")
    return reason


def _checked_source(source: str) -> str:
    if source not in TierSource.ALL:
        raise ValueError(f"a tier change comes from {', '.join(TierSource.ALL)}, not {source!r}")
    return source


async def retier(
    session: AsyncSession,
    customer: Customer,
    tier: int,
    *,
    reason: str,
    by: admin_log.By,
    source: str,
    score: dict[str, Any] | None = None,
    policy_version: str | None = None,
) -> TierMove | None:
    """Move ``customer`` to value tier ``tier``; None when it holds that tier already (nothing is written).

    :param reason: why, in a person's words or the review's (kept in the history, the log and the events).
    :param by: the agent (API, UI), None (the command line) or a job's name (``system:tier-review``).
    :param source: ``TierSource``: ``policy``, ``manual`` or ``import``.
    :param score: the score that proposed a policy change, with its components.
    :param policy_version: the version of the tier policy that proposed it.
    """
    checked_tier(tier)
    if tier == customer.value_tier:
        return None
    assert customer.id is not None
    move = TierMove(
        customer_id=customer.id,
        from_tier=customer.value_tier,
        to_tier=tier,
        highest_before=customer.highest_tier,
        reason=checked_reason(reason),
        source=_checked_source(source),
        score=score,
        policy_version=policy_version,
    )
    customer.value_tier, customer.highest_tier = move.to_tier, move.highest_after
    await _record(session, [move], by)
    return move


async def retier_many(session: AsyncSession, moves: Sequence[TierMove], *, by: admin_log.By) -> list[TierMove]:
    """Make a review's moves; a customer whose tier changed since the review read it is left alone (a person
    moved it meanwhile: theirs is the later word). Returns the moves made."""
    made: list[TierMove] = []
    for start in range(0, len(moves), _CHUNK):
        chunk = {m.customer_id: m for m in moves[start : start + _CHUNK]}
        for move in chunk.values():
            checked_tier(move.to_tier)
            _checked_source(move.source)
        held = select(Customer.id, Customer.value_tier).where(col(Customer.id).in_(list(chunk)))
        if (await session.connection()).dialect.name == "postgresql":
            held = held.with_for_update()
        current = dict((await session.exec(held)).all())
        ready = [m for m in chunk.values() if current.get(m.customer_id) == m.from_tier and m.to_tier != m.from_tier]
        if ready:
            await (await session.connection()).execute(
                update(CUSTOMER)
                .where(CUSTOMER.c.id == bindparam("customer"))
                .values(value_tier=bindparam("tier"), highest_tier=bindparam("highest")),
                [{"customer": m.customer_id, "tier": m.to_tier, "highest": m.highest_after} for m in ready],
            )
            await _record(session, ready, by)
        made += ready
    return made


async def _record(session: AsyncSession, moves: Sequence[TierMove], by: admin_log.By) -> None:
    """The history rows, the log entries and the events of ``moves`` (the customer rows are the caller's).
    The session's pending changes go first, so the log keeps the order things were done in."""
    await session.flush()
    actor, now = admin_log.actor_name(by), utcnow()
    await (await session.connection()).execute(
        insert(HISTORY),
        [
            {"customer_id": m.customer_id, "from_tier": m.from_tier, "to_tier": m.to_tier, "reason": m.reason,
             "at": now, "source": m.source, "score": m.score, "policy_version": m.policy_version, "actor": actor}
            for m in moves
        ],
    )  # fmt: skip
    await admin_log.record_many(
        session, by, [(RETIERED, admin_log.customer_subject(m.customer_id), m.details(actor)) for m in moves]
    )
    emitted: list[tuple[int, str, dict[str, Any]]] = []
    for m in moves:
        # Subscribers get the score itself; its components are in the history and the audit record.
        data = m.details(actor) | {"score": m.score.get("score") if m.score else None}
        emitted.append((m.customer_id, TIER_CHANGED, data))
        emitted.append((m.customer_id, TIER_SLIPPED if m.slipped else TIER_ROSE, data))
    await events.emit_for_customers(session, emitted)
