"""The assigner and offers on a real database and Redis: offered, accepted, declined, timed out; away agents
never offered; caps; concurrent assigners never offer one ticket to two agents and lose none."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta

from sqlmodel import col, func, select

from queues.runtime import Runtime
from router.agents import service as agents
from router.assignment import assigner
from router.models.assignment import AssignmentOffer, OfferState
from router.models.audit import AuditEvent
from router.models.columns import utcnow
from router.models.tickets import Status, Ticket
from router.tickets import offers
from router.unit_of_work import commit, transaction
from tests.assignment.helpers import agent, push, queued
from tests.conftest import make_agent, one_backend


async def _ticket(runtime: Runtime, ticket_id: int) -> Ticket:
    async with runtime.app.sessionmaker() as s:
        return (await s.exec(select(Ticket).where(Ticket.id == ticket_id))).one()


async def _offers(runtime: Runtime) -> list[AssignmentOffer]:
    async with runtime.app.sessionmaker() as s:
        return list((await s.exec(select(AssignmentOffer).order_by(col(AssignmentOffer.id)))).all())


async def test_pull_tiers_are_left_alone(runtime: Runtime) -> None:
    await agent(runtime)
    await queued(runtime, 2)
    assert await assigner.run_tier(runtime.app, 1) == 0
    assert await runtime.app.tier_queue.depth(1) == 2


async def test_an_offer_accepted_makes_the_ticket_the_agents(runtime: Runtime) -> None:
    push(runtime, "least_loaded")
    a, _ = await agent(runtime)
    [tid] = await queued(runtime, 1)
    assert await assigner.run_tier(runtime.app, 1) == 1
    assert await runtime.app.tier_queue.depth(1) == 0
    ticket = await _ticket(runtime, tid)
    assert (ticket.status, ticket.assignee_id) == (Status.queued, a.id)
    [offer] = await _offers(runtime)
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        await offers.accept(s, offer.ticket_id, a)
    ticket = await _ticket(runtime, tid)
    assert (ticket.status, ticket.assignee_id) == (Status.in_progress, a.id)
    async with runtime.app.sessionmaker() as s:
        actions = (
            await s.exec(select(AuditEvent).where(AuditEvent.ticket_id == tid).order_by(col(AuditEvent.seq)))
        ).all()
    assigned = next(e for e in actions if e.action == "assigned")
    assert assigned.data["strategy"] == "least_loaded" and assigned.data["candidates"] == [a.id]
    assert [e.action for e in actions][-2:] == ["assigned", "offer_accepted"]


async def test_a_declined_offer_goes_back_to_its_place_and_to_another_agent(runtime: Runtime) -> None:
    push(runtime, "round_robin")
    first, _ = await agent(runtime)
    second, _ = await agent(runtime)
    ids = await queued(runtime, 3)
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        [offer] = await assigner.assign_batch(
            s, runtime.app.tier_queue, 1, runtime.app.assignment.current().of(1), seen={}, away_after=0, limit=1
        )
    assert offer.ticket_id == ids[0] and offer.agent_id == first.id
    assert await runtime.app.tier_queue.page(1, 0, 10) == ids[1:]
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        await offers.decline(s, offer.ticket_id, first, reason="busy")
    assert await runtime.app.tier_queue.page(1, 0, 10) == ids  # back at the head, where it was
    ticket = await _ticket(runtime, ids[0])
    assert (ticket.status, ticket.assignee_id) == (Status.queued, None)
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        [again] = await assigner.assign_batch(
            s, runtime.app.tier_queue, 1, runtime.app.assignment.current().of(1), seen={}, away_after=0, limit=1
        )
    assert again.ticket_id == ids[0] and again.agent_id == second.id  # round robin


async def test_an_unanswered_offer_times_out_back_into_the_queue(runtime: Runtime) -> None:
    push(runtime, "least_loaded", timeout=30)
    a, _ = await agent(runtime)
    [tid] = await queued(runtime, 1)
    await assigner.run_tier(runtime.app, 1)
    [offer] = await _offers(runtime)
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        assert not await offers.expire(s, offer.id or 0)  # not due yet
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        assert await offers.expire(s, offer.id or 0, now=utcnow() + timedelta(seconds=31))
    [offer] = await _offers(runtime)
    assert offer.state == OfferState.expired
    assert await runtime.app.tier_queue.page(1, 0, 10) == [tid]
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        try:
            await offers.accept(s, offer.ticket_id, a)
        except Exception as exc:  # Conflict: too late
            assert "not offered" in str(exc)
        else:
            raise AssertionError("accepted an expired offer")


async def test_away_and_offline_agents_are_never_offered(runtime: Runtime) -> None:
    push(runtime, "round_robin")
    await agent(runtime, status="away")
    await agent(runtime, status="offline")
    gone, _ = await agent(runtime)  # available, but their live stream has been gone too long
    await runtime.app.live.seen(gone.id or 0)
    push(runtime, "round_robin", away_after=0.001)
    await asyncio.sleep(0.01)
    await queued(runtime, 3)
    assert await assigner.run_tier(runtime.app, 1) == 0
    assert await runtime.app.tier_queue.depth(1) == 3
    assert await _offers(runtime) == []


async def test_only_agents_who_work_the_tier_by_name_are_offered_it(runtime: Runtime) -> None:
    """The tier is matched in the database (JSON containment / ``json_each``): agents of tiers 2 and 3 are not
    offered tier 1; a lead, who works every tier by role, is not pushed tier 1's work unless it is theirs by
    name."""
    push(runtime, "round_robin")
    await agent(runtime, tier=2)
    await agent(runtime, tier=3)
    lead, _ = await make_agent(runtime, role="lead", tiers=())
    async with runtime.app.sessionmaker() as s:
        row = await agents.get_agent(s, lead.id or 0)
        await agents.change_agent(s, None, row, status="available")
        await commit(s, runtime.app.effects)
    mine, _ = await agent(runtime, tier=1)
    await queued(runtime, 2)
    assert await assigner.run_tier(runtime.app, 1) == 2
    assert {o.agent_id for o in await _offers(runtime)} == {mine.id}


async def test_caps_are_never_exceeded_and_the_rest_waits(runtime: Runtime) -> None:
    push(runtime, "least_loaded")
    a, _ = await agent(runtime, cap=2)
    b, _ = await agent(runtime, cap=3)
    await queued(runtime, 10)
    assert await assigner.run_tier(runtime.app, 1) == 5
    assert Counter(o.agent_id for o in await _offers(runtime)) == {a.id: 2, b.id: 3}
    assert await runtime.app.tier_queue.depth(1) == 5


async def test_skills_are_respected(runtime: Runtime) -> None:
    push(runtime, "skills_then_least_loaded")
    await agent(runtime, skills=("billing",))
    de, _ = await agent(runtime, skills=("de", "sso"), cap=10)
    await queued(runtime, 4, queue_group="identity", tags=("sso",))
    await assigner.run_tier(runtime.app, 1)
    assert {o.agent_id for o in await _offers(runtime)} == {de.id}


@one_backend
async def test_concurrent_assigners_offer_each_ticket_once_and_lose_none(runtime: Runtime) -> None:
    push(runtime, "least_loaded")
    for _ in range(20):
        await agent(runtime, cap=100)
    ids = await queued(runtime, 2000)
    started = time.monotonic()
    made = await asyncio.gather(*(assigner.run_tier(runtime.app, 1, seconds=60) for _ in range(4)))
    assert sum(made) == 2000, made
    assert time.monotonic() - started < 15
    offers_made = await _offers(runtime)
    assert sorted(o.ticket_id for o in offers_made) == sorted(ids)  # each exactly once
    assert max(Counter(o.agent_id for o in offers_made).values()) <= 100
    async with runtime.app.sessionmaker() as s:
        waiting = (
            await s.exec(select(func.count()).where(Ticket.status == Status.queued, col(Ticket.assignee_id).is_(None)))
        ).one()
    assert waiting == 0 and await runtime.app.tier_queue.depth(1) == 0


async def test_the_sweep_marks_agents_whose_live_page_is_gone_away(runtime: Runtime) -> None:
    from router.agents import availability
    from router.models.agents import Agent

    gone, _ = await agent(runtime)
    here, _ = await agent(runtime)
    api_only, _ = await agent(runtime)
    came_back, _ = await agent(runtime)  # their page closed long ago; they said "available" since (the API)
    async with runtime.app.sessionmaker() as s:  # the others chose "available" before their page closed
        for row in (await s.exec(select(Agent).where(col(Agent.id) != came_back.id))).all():
            row.status_changed_at = utcnow() - timedelta(seconds=3600)
        await s.commit()
    old = time.time() - 400
    seen = {gone.id or 0: old, here.id or 0: time.time(), came_back.id or 0: old}
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        assert await availability.mark_gone_away(s, seen, 300, time.time()) == [gone.id]
    async with runtime.app.sessionmaker() as s:
        statuses = {a.id: a.status for a in (await s.exec(select(Agent))).all()}
    assert statuses == {gone.id: "away", here.id: "available", api_only.id: "available", came_back.id: "available"}
    # ... and the assigner offers them work too (status set after the last beat: present)
    push(runtime, "least_loaded")
    [tid] = await queued(runtime, 1)
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        rule = runtime.app.assignment.current().of(1)
        made = await assigner.assign_batch(s, runtime.app.tier_queue, 1, rule, seen=seen, away_after=300, limit=1)
    assert [o.agent_id for o in made] in ([here.id], [api_only.id], [came_back.id]) and made[0].ticket_id == tid


async def test_the_sweep_takes_back_overdue_offers_and_wakes_pushing_tiers(runtime: Runtime) -> None:
    """The assigner died after committing offers (no timer of its own): the sweep is the timeout."""
    from queues import jobs
    from queues.names import ROUTING_QUEUE

    push(runtime, "least_loaded", timeout=0.01)
    await agent(runtime)
    [tid] = await queued(runtime, 1)
    await assigner.run_tier(runtime.app, 1)
    await asyncio.sleep(0.05)
    result = await jobs.sweep({"app": runtime.app, "redis": runtime.pool})
    assert "offers_expired=1" in result
    assert await runtime.app.tier_queue.page(1, 0, 10) == [tid]
    assert await runtime.pool.zcard(ROUTING_QUEUE) >= 1  # the tier's assigner job is queued again


async def test_an_assigner_dying_mid_way_loses_nothing(runtime: Runtime) -> None:
    """Popped, offered, and the process gone before the commit (no undo applied either): the database still
    has the tickets queued and unassigned, and the queue repair puts them back in claim order."""
    from queues.reconcile import repair_tier_queues
    from queues.tier_queue import RedisTierQueue
    from router.effects import take_undo

    push(runtime, "least_loaded")
    await agent(runtime)
    ids = await queued(runtime, 3)
    session = runtime.app.sessionmaker()
    made = await assigner.assign_batch(
        session, runtime.app.tier_queue, 1, runtime.app.assignment.current().of(1), seen={}, away_after=0
    )
    assert len(made) == 3 and await runtime.app.tier_queue.depth(1) == 0
    take_undo(session)  # the crash: nothing is put back by this process
    await session.close()  # the connection goes, the transaction with it
    assert await repair_tier_queues(runtime.app, RedisTierQueue(runtime.pool)) == (3, 0)
    assert await runtime.app.tier_queue.page(1, 0, 10) == ids
    assert await _offers(runtime) == []


async def _batch(runtime: Runtime, tier: int = 1, limit: int = 1) -> list[AssignmentOffer]:
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        rule = runtime.app.assignment.current().of(tier)
        return await assigner.assign_batch(s, runtime.app.tier_queue, tier, rule, seen={}, away_after=0, limit=limit)


async def test_a_ticket_that_moved_on_while_offered_does_not_stall_the_next_tier(runtime: Runtime) -> None:
    """Offered in tier 1, escalated by its SLA before anyone answered: tier 2's assigner offers it (the stale
    tier-1 offer is withdrawn, its banner dropped) instead of failing its whole batch on the pending row."""
    from router.assignment.settings import AssignmentProvider
    from router.models.assignment import AssignmentOffer as Offer
    from router.tickets import service as tickets
    from router.tickets.actors import Actor
    from rules.assignment import AssignmentSettings, TierAssignment

    both = AssignmentSettings(
        "test", {1: TierAssignment("least_loaded", 60), 2: TierAssignment("least_loaded", 60)}, 300
    )
    runtime.app.assignment = AssignmentProvider.fixed(both)
    first, _ = await agent(runtime)
    expert, _ = await agent(runtime, tier=2)
    [tid] = await queued(runtime, 1)
    [stale] = await _batch(runtime)
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        ticket = await tickets.get(s, tid, lock=True)
        await tickets.escalate(s, ticket, Actor.system(), reason="SLA breached", to_tier=2)
    ticket = await _ticket(runtime, tid)
    assert (ticket.support_tier, ticket.status, ticket.assignee_id) == (2, Status.queued, None)
    async with runtime.app.live.listen([f"agent:{first.id}"]) as listener:
        [fresh] = await _batch(runtime, tier=2)
        gone = await listener.next(3)
    assert (fresh.ticket_id, fresh.agent_id, fresh.tier) == (tid, expert.id, 2)
    async with runtime.app.sessionmaker() as s:
        old = (await s.exec(select(Offer).where(Offer.id == stale.id))).one()
    assert old.state == OfferState.withdrawn
    assert gone is not None and (gone["event"], gone["ticket_id"]) == ("offer_gone", tid)


async def test_a_declined_ticket_goes_to_someone_else_first_and_is_queued_again(runtime: Runtime) -> None:
    push(runtime, "least_loaded")
    first, _ = await agent(runtime)
    second, _ = await agent(runtime, cap=1)
    [tid] = await queued(runtime, 1)
    [offer] = await _batch(runtime)
    declined_by = first if offer.agent_id == first.id else second
    before = (await _ticket(runtime, tid)).queued_at
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        await offers.decline(s, tid, declined_by, reason="not mine")
    ticket = await _ticket(runtime, tid)
    assert ticket.queued_at is not None and before is not None and ticket.queued_at > before  # a rebuild re-reads it
    [again] = await _batch(runtime)
    assert again.ticket_id == tid and again.agent_id != declined_by.id  # least loaded would pick them again
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        await offers.decline(s, tid, second if again.agent_id == second.id else first)
    [third] = await _batch(runtime)  # both passed on it: it must not wait forever, so it goes round again
    assert third.ticket_id == tid


async def test_a_late_accept_is_refused_and_its_offer_closed_for_good(runtime: Runtime) -> None:
    push(runtime, "least_loaded", timeout=30)
    a, _ = await agent(runtime)
    [tid] = await queued(runtime, 1)
    [offer] = await _batch(runtime)
    async with runtime.app.sessionmaker() as s:  # the deadline passed; the sweep has not run yet
        row = (await s.exec(select(AssignmentOffer).where(AssignmentOffer.id == offer.id))).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        await s.commit()
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        refused = await offers.accept(s, tid, a)
    assert isinstance(refused, offers.Refused) and "ran out" in refused.reason
    [closed] = await _offers(runtime)
    assert closed.state == OfferState.expired
    ticket = await _ticket(runtime, tid)
    assert (ticket.status, ticket.assignee_id) == (Status.queued, None)
    assert await runtime.app.tier_queue.page(1, 0, 10) == [tid]


@one_backend
async def test_a_wake_while_the_assigner_runs_takes_its_second_slot(runtime: Runtime) -> None:
    """The assigner's job id refuses a wake while the job is queued or running; a run past its last look at
    the queue would leave a ticket placed then to the sweep. The refused wake enqueues the second slot."""
    from queues.names import arq_queue_for
    from router.effects import WakeAssigner, assign_job
    from router.job_names import ASSIGN_TIER

    push(runtime, "round_robin")
    await runtime.app.effects.apply([WakeAssigner(1)])
    assert await runtime.pool.exists("arq:job:assign:1")
    assert not await runtime.pool.exists("arq:job:assign:1:again")  # the first slot took it
    await runtime.app.effects.apply([WakeAssigner(1)])  # the first is queued or running: refused there
    assert await runtime.pool.exists("arq:job:assign:1:again")
    await runtime.app.effects.apply([WakeAssigner(1)])  # both taken: nothing more is queued
    routing = arq_queue_for(assign_job(1).queue)
    assert sorted(m.decode() for m in await runtime.pool.zrange(routing, 0, -1)) == ["assign:1", "assign:1:again"]
    assert assign_job(1, again=True).function == assign_job(1).function == ASSIGN_TIER
    push(runtime, "pull", tier=2)
    await runtime.app.effects.apply([WakeAssigner(2)])  # a pulling tier has no assigner to wake
    assert not await runtime.pool.exists("arq:job:assign:2")
