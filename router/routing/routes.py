"""Rulebook endpoints: what is in force, and dry runs of a candidate for leads."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from router.deps import ContextDep, CurrentAgent, CurrentLead, SessionDep
from router.errors import Invalid
from router.openapi import JSON_BODY, LEADS_ONLY, SIGNED_IN
from router.problems import require_json
from router.routing.schemas import DifferenceOut, RulebookOut, RuleOut, SimulateIn, SimulationOut, TierMove
from router.routing.simulate import simulate
from rules import RulebookError, parse_rulebook

api = APIRouter(prefix="/rules", tags=["rules"], responses=SIGNED_IN)


@api.get("", response_model=RulebookOut)
async def current_rulebook(ctx: ContextDep, _agent: CurrentAgent) -> RulebookOut:
    """The rulebook in force, and the error of a refused change if there is one."""
    book = ctx.rulebook.current()
    return RulebookOut(
        path=str(ctx.rulebook.path),
        version=book.version,
        rules=[RuleOut(id=r.id, description=r.description) for r in book.rules],
        refused_change=ctx.rulebook.error,
    )


@api.post(
    "/simulate", response_model=SimulationOut, dependencies=[Depends(require_json)], responses=LEADS_ONLY | JSON_BODY
)
async def simulate_rulebook(body: SimulateIn, session: SessionDep, _lead: CurrentLead) -> SimulationOut:
    """Leads: replay stored tickets through a candidate rulebook; nothing is changed."""
    try:
        candidate = parse_rulebook(body.rulebook, "candidate")
    except RulebookError as exc:
        problems = [{"line": p.line, "column": p.column, "message": p.message} for p in exc.problems]
        raise Invalid(
            f"the candidate rulebook has {len(problems)} problem(s)", field="rulebook", problems=problems
        ) from None
    report = await simulate(session, candidate, since=body.since)
    return SimulationOut(
        candidate_version=report.candidate_version,
        tickets=report.tickets,
        skipped_unrouted=report.skipped_unrouted,
        changed=report.changed,
        changed_tier=report.changed_tier,
        changed_priority=report.changed_priority,
        tier_moves=[TierMove(from_tier=a, to_tier=b, tickets=n) for (a, b), n in sorted(report.tier_moves.items())],
        differences=[
            DifferenceOut.model_validate(d, from_attributes=True) for d in report.differences[: body.max_differences]
        ],
    )
