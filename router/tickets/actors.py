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
    """Agents act only on tickets of the tiers they work; leads, admins and the system anywhere."""
    if actor.agent is not None and tier is not None and not actor.agent.works_tier(tier):
        raise Forbidden(f"you do not work support tier {tier}", tier=tier)
