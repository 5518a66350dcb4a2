"""Push assignment's side of an agent (docs/assignment.md): status, caps per tier, skills and shift calendar,
checked here and changed through ``service.change_agent`` / ``set_status`` (audited in the admin log)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel.ext.asyncio.session import AsyncSession

from router.effects import WakeAssigner, after_commit
from router.errors import Invalid
from router.models.agents import Agent, AgentStatus
from router.models.columns import utcnow
from rules.vocabulary import MAX_SUPPORT_TIER, MIN_SUPPORT_TIER, SUPPORT_TIERS

#: The most open tickets a cap may allow per tier.
MAX_CAP = 1000
MAX_SKILLS = 50


def checked_status(status: str) -> str:
    if status not in AgentStatus.__members__:
        raise Invalid(f"status must be one of {', '.join(AgentStatus.__members__)}, got {status!r}", field="status")
    return status


def checked_caps(caps: dict[int, int]) -> dict[str, int]:
    """Caps per support tier (0 to ``MAX_CAP`` open tickets), stored with string keys (JSON)."""
    out = {}
    for tier, cap in caps.items():
        if tier not in SUPPORT_TIERS:
            raise Invalid(f"support tiers are {MIN_SUPPORT_TIER} to {MAX_SUPPORT_TIER}, got {tier}", field="max_open")
        if not 0 <= cap <= MAX_CAP:
            raise Invalid(f"a cap is 0 to {MAX_CAP} open tickets, got {cap} for tier {tier}", field="max_open")
        out[str(tier)] = int(cap)
    return out


def checked_skills(skills: Iterable[str]) -> list[str]:
    """Lower case, trimmed, each at most 64 characters, no duplicates, at most ``MAX_SKILLS``."""
    out = sorted({s.strip().lower() for s in skills if s.strip()})
    if len(out) > MAX_SKILLS:
        raise Invalid(f"an agent has at most {MAX_SKILLS} skills, got {len(out)}", field="skills")
    if long := [s for s in out if len(s) > 64]:
        raise Invalid(f"a skill has at most 64 characters: {long[0][:70]!r}", field="skills")
    return out


def checked_shift(session: AsyncSession, name: str) -> str | None:
    """A calendar of the SLA policies (``rules/sla.yaml``), or ``""`` for none (always on shift)."""
    from router.assignment.shifts import calendars

    name = name.strip()
    if not name:
        return None
    known = calendars(session)
    if name not in known:
        raise Invalid(f"unknown calendar {name!r}; known: {', '.join(sorted(known))}", field="shift_calendar")
    return name


def set_status_of(session: AsyncSession, agent: Agent, status: str) -> None:
    """Becoming available wakes the assigner of each tier they work (pushing tiers offer them work)."""
    if checked_status(status) == agent.status:
        return
    agent.status = status
    agent.status_changed_at = utcnow()
    if status == AgentStatus.available:
        for tier in agent.tiers:
            after_commit(session, WakeAssigner(tier))


async def mark_gone_away(session: AsyncSession, seen: dict[int, float], away_after: float, now: float) -> list[int]:
    """Available agents whose live stream has been gone longer than ``away_after`` become ``away`` (in the
    admin log as ``system:presence``); agents never seen (API-only) keep their status. Returns their ids."""
    from sqlmodel import col, select

    from router.audit import admin_log

    if away_after <= 0:
        return []
    gone = [a for a, last in seen.items() if now - last > away_after]
    if not gone:
        return []
    rows = await session.exec(
        select(Agent)
        .where(col(Agent.id).in_(gone), Agent.status == AgentStatus.available)
        .order_by(col(Agent.id))  # the assigners lock agents in id order too: no deadlock with them
        .with_for_update()
    )
    changed = []
    for agent in rows.all():
        since = agent.status_changed_at
        if since is not None and now - since.timestamp() <= away_after:
            continue  # chose "available" after their last page closed (working by API): that stands
        set_status_of(session, agent, AgentStatus.away)
        admin_log.record(
            session, "system:presence", "agent.status", f"agent:{agent.id}", status=["available", "away"],
            reason=f"no live page for {away_after:g} s",
        )  # fmt: skip
        changed.append(agent.id or 0)
    return changed
