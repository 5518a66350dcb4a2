"""Who acts on a ticket, and the tier check every agent's action passes."""

from __future__ import annotations

from dataclasses import dataclass

from router.errors import Forbidden
from router.models.agents import Agent
from router.sla import service as sla


@dataclass(frozen=True)
class Actor:
    """Who acts: an agent (permissions apply) or the system itself (``system``, ``sla``, ``rule:...``)."""

    name: str
    agent: Agent | None = None

    @classmethod
    def of(cls, agent: Agent) -> Actor:
        return cls(f"agent:{agent.id}", agent)

    @classmethod
    def system(cls) -> Actor:
        return cls("system")

    @classmethod
    def sla(cls) -> Actor:
        """The SLA engine: acts in every tier, like the system."""
        return cls(sla.ACTOR)

    @property
    def is_lead(self) -> bool:
        return self.agent is None or self.agent.is_lead


def require_tier(actor: Actor, tier: int | None) -> None:
    """Agents see only tickets of the tiers they work (and unrouted ones); leads, admins and the system all."""
    if actor.agent is not None and tier is not None and not actor.agent.works_tier(tier):
        raise Forbidden(f"you do not work support tier {tier}", tier=tier)


def may_act(actor: Actor, tier: int | None) -> bool:
    """Whether ``actor`` may change a ticket of ``tier``: its tier's agents once routed; before routing
    (``tier`` None) only leads, admins and the system, so no ticket is answered or closed unrouted."""
    if tier is None:
        return actor.is_lead
    return actor.agent is None or actor.agent.works_tier(tier)


def require_may_act(actor: Actor, tier: int | None) -> None:
    """The check every change of a ticket passes (403 otherwise)."""
    if tier is None and not actor.is_lead:
        raise Forbidden("this ticket has not been routed yet; only leads and admins act on it")
    require_tier(actor, tier)
