"""The forecast over the database: the endpoint (auth, bad input), once-per-ticket announcements, settling,
precision and recall against a fixture, and the figures on My queues and /reports."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlmodel import col, func, select

from queues import jobs
from queues.lease import leased
from queues.names import FORECAST_LOCK
from queues.runtime import Runtime
from queues.worker import drain
from router.forecast import service as forecasts
from router.models.audit import AuditEvent
from router.models.columns import utcnow
from router.models.events import OutboxEvent
from router.models.forecast import BreachPrediction
from router.models.notifications import Notification
from router.models.sla import SlaClock
from router.settings import Settings
from router.unit_of_work import commit
from tests.conftest import auth, make_agent
from tests.web.helpers import open_ticket, sign_in, web_agent
from tests.webhooks.helpers import configure, new_secret
from tests.webhooks.test_outbound import Receiver, receiver

__all__ = ["receiver"]  # the loopback receiver fixture

PROBLEM = "application/problem+json"


async def _queued(runtime: Runtime, count: int) -> list[int]:
    return [await open_ticket(runtime, subject=f"Ticket {i}") for i in range(count)]


async def _run(runtime: Runtime, settings: Settings, *, at_offset: timedelta = timedelta()) -> None:
    async with runtime.app.sessionmaker() as s:
        await forecasts.run(s, settings, utcnow() + at_offset)
        await commit(s, runtime.app.effects)


def _slow(settings: Settings) -> Settings:
    """Everyone breaches: one claim a day, announced whatever the due time."""
    return settings.model_copy(update={"forecast_default_rate": 1 / 24, "forecast_announce_hours": 10_000.0})


async def test_forecast_endpoint_lists_the_queue_in_claim_order(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ids = await _queued(runtime, 3)
    _, token = await make_agent(runtime, tiers=(1,))
    await make_agent(runtime, tiers=(1, 2))
    r = await client.get("/api/v1/queues/1/forecast", headers=auth(token))
    assert r.status_code == 200, r.text
    body = r.json()
    listing = (await client.get("/api/v1/queues/1", headers=auth(token))).json()
    assert [i["ticket_id"] for i in body["items"]] == [t["id"] for t in listing["items"]]
    assert sorted(i["ticket_id"] for i in body["items"]) == sorted(ids)
    assert (body["tier"], body["waiting"], body["capacity"], body["rate_per_agent_hour"]) == (1, 3, 2, 4.0)
    assert [i["position"] for i in body["items"]] == [1, 2, 3]
    starts = [i["predicted_start"] for i in body["items"]]
    assert starts == sorted(starts)
    page = (await client.get("/api/v1/queues/1/forecast?offset=1&limit=1", headers=auth(token))).json()
    assert [i["ticket_id"] for i in page["items"]] == [body["items"][1]["ticket_id"]]


async def test_forecast_endpoint_checks_auth_and_input(runtime: Runtime, client: httpx.AsyncClient) -> None:
    _, other_tier = await make_agent(runtime, tiers=(2,))
    _, lead = await make_agent(runtime, role="lead", tiers=())
    assert (await client.get("/api/v1/queues/1/forecast")).status_code == 401
    forbidden = await client.get("/api/v1/queues/1/forecast", headers=auth(other_tier))
    assert forbidden.status_code == 403 and forbidden.headers["content-type"].startswith(PROBLEM)
    assert (await client.get("/api/v1/queues/1/forecast", headers=auth(lead))).status_code == 200
    for bad in ("/api/v1/queues/9/forecast", "/api/v1/queues/x/forecast", "/api/v1/queues/1/forecast?limit=0",
                "/api/v1/queues/1/forecast?offset=-1", "/api/v1/queues/1/forecast?breaches_only=perhaps"):  # fmt: skip
        r = await client.get(bad, headers=auth(lead))
        assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM), bad


async def test_breaches_only_and_no_capacity(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await _queued(runtime, 2)
    _, lead = await make_agent(runtime, role="lead", tiers=())  # works every tier, given none: no capacity
    body = (await client.get("/api/v1/queues/1/forecast?breaches_only=true", headers=auth(lead))).json()
    assert body["capacity"] == 0
    assert all(i["predicted_start"] is None and i["breach"] for i in body["items"])
    assert body["predicted_breaches"] == len(body["items"]) == 2


async def _counts(runtime: Runtime) -> tuple[int, int, int]:
    async with runtime.app.sessionmaker() as s:
        predictions = (await s.exec(select(func.count()).select_from(BreachPrediction))).one()
        events = (await s.exec(select(func.count()).where(OutboxEvent.type == "sla.breach_predicted"))).one()
        notices = (await s.exec(select(func.count()).where(Notification.kind == "breach_predicted"))).one()
    return predictions, events, notices


async def test_a_predicted_breach_is_announced_once_per_ticket(runtime: Runtime, settings: Settings) -> None:
    ids = await _queued(runtime, 3)
    await make_agent(runtime, role="lead", tiers=(1,))  # the tier's lead: notified, and its capacity
    slow = _slow(settings)
    await _run(runtime, slow)
    assert await _counts(runtime) == (3, 3, 3)
    await _run(runtime, slow)
    await _run(runtime, slow, at_offset=timedelta(minutes=5))
    assert await _counts(runtime) == (3, 3, 3)
    async with runtime.app.sessionmaker() as s:
        event = (await s.exec(select(OutboxEvent).where(OutboxEvent.type == "sla.breach_predicted"))).first()
        assert event is not None and event.ticket_id in ids
        assert {"due_at", "predicted_start", "support_tier", "prediction_id"} <= set(event.data)


async def test_predictions_settle_when_claimed_or_due(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings
) -> None:
    ids = await _queued(runtime, 2)
    _, token = await make_agent(runtime, role="lead", tiers=(1,))
    await _run(runtime, _slow(settings))
    claimed = (await client.post("/api/v1/queues/1/claim", headers=auth(token))).json()["id"]
    async with runtime.app.sessionmaker() as s:
        due = {p.ticket_id: p.due_at for p in (await s.exec(select(BreachPrediction))).all()}
    assert set(due) == set(ids)
    waiting = next(i for i in ids if i != claimed)
    async with runtime.app.sessionmaker() as s:
        assert await forecasts.settle(s, utcnow()) == 1  # the claim, before its due time
        assert await forecasts.settle(s, due[waiting] + timedelta(seconds=1)) == 1  # still waiting past due
        await commit(s, runtime.app.effects)
        outcome = {p.ticket_id: p.came_true for p in (await s.exec(select(BreachPrediction))).all()}
    assert outcome == {claimed: False, waiting: True}


async def test_precision_and_recall_are_exact_against_a_fixture(runtime: Runtime) -> None:
    """Five predictions: 2 came true, 1 false, 1 open; tickets 1 and 5 breached while waiting, ticket 6
    breached in progress (not a waiting breach). Precision 2/3; recall: caught {1, 2} of {1, 2, 5} = 2/3."""
    ids = await _queued(runtime, 6)
    now = utcnow()
    async with runtime.app.sessionmaker() as s:
        made = now - timedelta(hours=1)
        for ticket_id, came_true in [(ids[0], True), (ids[1], True), (ids[2], False), (ids[3], None)]:
            s.add(BreachPrediction(ticket_id=ticket_id, tier=1, due_at=now, made_at=made, came_true=came_true))
        s.add(BreachPrediction(ticket_id=ids[4], tier=1, due_at=now, made_at=now - timedelta(days=40), came_true=True))
        for seq, (ticket_id, status) in enumerate([(ids[0], "queued"), (ids[4], "queued"), (ids[5], "in_progress")]):
            s.add(
                AuditEvent(ticket_id=ticket_id, seq=1000 + seq, at=made, actor="sla", action="sla_breached",
                           prev_hash="", hash="", state={"status": status})
            )  # fmt: skip
        await s.commit()
    async with runtime.app.sessionmaker() as s:
        got = await forecasts.scores(s, now - timedelta(days=7), now)
    assert (got.settled, got.came_true, got.breached, got.caught) == (3, 2, 3, 2)
    assert got.precision == pytest.approx(2 / 3) and got.recall == pytest.approx(2 / 3)


async def test_breaches_in_the_next_two_hours(runtime: Runtime, client: httpx.AsyncClient, settings: Settings) -> None:
    await _queued(runtime, 2)
    _, token = await make_agent(runtime, role="lead", tiers=(1,))
    await _run(runtime, _slow(settings))
    async with runtime.app.sessionmaker() as s:
        due = min((await s.exec(select(BreachPrediction.due_at))).all())
        assert await forecasts.breaches_soon(s, [0, 1], due - timedelta(hours=1)) == {0: 0, 1: 2}
        assert await forecasts.breaches_soon(s, [1], due - timedelta(hours=3)) == {1: 0}
    assert (await client.post("/api/v1/queues/1/claim", headers=auth(token))).status_code == 200
    async with runtime.app.sessionmaker() as s:  # a claimed ticket no longer waits: it no longer counts
        assert await forecasts.breaches_soon(s, [1], due - timedelta(hours=1)) == {1: 1}


async def test_figures_on_my_queues_and_reports(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ids = await _queued(runtime, 3)
    now = utcnow()
    async with runtime.app.sessionmaker() as s:
        for ticket_id, due in [(ids[0], now + timedelta(hours=1)), (ids[1], now + timedelta(minutes=90)),
                               (ids[2], now + timedelta(hours=5))]:  # fmt: skip
            s.add(BreachPrediction(ticket_id=ticket_id, tier=1, due_at=due, made_at=now, came_true=None))
        s.add(BreachPrediction(ticket_id=ids[0], tier=1, due_at=now - timedelta(hours=1), made_at=now, came_true=True))
        await s.commit()
    lead = await web_agent(runtime, role="lead", tiers=(1,))
    await sign_in(client, lead)
    html = (await client.get("/ui/")).text
    assert "Predicted breaches (next 2 h)" in html
    assert 'data-predicted-tier="1">2<' in html
    assert 'data-predicted-tier="0">0<' in html
    report = (await client.get("/reports")).text
    assert "Breach forecast" in report and 'data-forecast="precision"' in report
    assert "100.0 %" in report.split('data-forecast="precision"')[1].split("</div>")[0]


def test_the_forecast_cron_runs_every_five_minutes_within_the_route_timeout() -> None:
    from queues.job_table import JOBS
    from router import job_names

    [job] = [j for j in JOBS if j.name == job_names.FORECAST_BREACHES]
    assert job.schedule is not None and job.schedule.minute == set(range(0, 60, 5))
    assert job.arq_function(Settings()).timeout_s == Settings().route_job_timeout


async def test_the_handling_rate_counts_claims_per_agent_hour(runtime: Runtime, client: httpx.AsyncClient) -> None:
    await _queued(runtime, 3)
    _, token = await make_agent(runtime, tiers=(1,))
    for _ in range(2):
        assert (await client.post("/api/v1/queues/1/claim", headers=auth(token))).status_code == 200
    from router.forecast import queries

    async with runtime.app.sessionmaker() as s:
        claims, hours = await queries.recent_handling(s, 1, utcnow() - timedelta(days=7))
        assert claims == 2 and hours in (1, 2)  # two claims by one agent: one clock hour (two across an hour)
        assert await queries.recent_handling(s, 2, utcnow() - timedelta(days=7)) == (0, 0)
        assert await queries.recent_handling(s, 1, utcnow() + timedelta(minutes=1)) == (0, 0)
    body = (await client.get("/api/v1/queues/1/forecast", headers=auth(token))).json()
    assert body["rate_per_agent_hour"] == 2 / hours and body["waiting"] == 1


async def test_the_worker_job_announces_once_by_signed_webhook(runtime: Runtime, receiver: Receiver) -> None:
    secret = new_secret()
    receiver.secrets = {"/forecast": secret}
    configure(
        runtime,
        f"subscriptions:\n  pager:\n    url: {receiver.url('/forecast')}\n    secrets: [{secret}]\n"
        "    events: [sla.breach_predicted]\n",
    )
    ids = await _queued(runtime, 2)
    await make_agent(runtime, role="lead", tiers=(1,))
    runtime.app.settings.forecast_default_rate = 1 / 24
    runtime.app.settings.forecast_announce_hours = 10_000.0
    ctx = {"app": runtime.app, "redis": runtime.pool}
    assert await jobs.forecast_breaches(ctx) == "settled=0 predicted=2"
    assert await jobs.forecast_breaches(ctx) == "settled=0 predicted=0"
    async with leased(runtime.pool, FORECAST_LOCK, wait=1):
        assert (await jobs.forecast_breaches(ctx)).startswith("busy")
    await drain(runtime)
    got = sorted((r["payload"]["type"], r["payload"]["data"]["ticket"]["id"], r["verified"]) for r in receiver.received)
    assert got == [("sla.breach_predicted", i, True) for i in sorted(ids)]


async def test_a_changed_due_time_is_a_new_prediction(runtime: Runtime, settings: Settings) -> None:
    first, _ = await _queued(runtime, 2)
    await make_agent(runtime, role="lead", tiers=(1,))
    await _run(runtime, _slow(settings))
    async with runtime.app.sessionmaker() as s:
        clocks = await s.exec(select(SlaClock).where(SlaClock.ticket_id == first))
        for clock in clocks.all():  # as a changed policy would (the ticket's due time follows its clocks)
            assert clock.due_at is not None
            clock.due_at -= timedelta(minutes=10)
        await s.commit()
    await _run(runtime, _slow(settings))
    await _run(runtime, _slow(settings))
    async with runtime.app.sessionmaker() as s:
        made = (await s.exec(select(BreachPrediction.ticket_id).order_by(col(BreachPrediction.id)))).all()
    assert len(set(made[:2])) == 2 and made[2:] == [first]  # both once, then the first again for its new due time
    assert await _counts(runtime) == (3, 3, 3)


async def test_capacity_counts_agents_on_shift_and_not_away(runtime: Runtime) -> None:
    """Away agents (by choice or by the live stream's absence) and agents off shift take nothing now."""
    from router.agents import service as agents
    from router.forecast.capacity import tier_capacity

    here, _ = await make_agent(runtime, tiers=(1,))
    away, _ = await make_agent(runtime, tiers=(1,))
    nights, _ = await make_agent(runtime, tiers=(1, 2))
    await make_agent(runtime, tiers=(2,))
    async with runtime.app.sessionmaker() as s:
        await agents.set_status(s, await agents.get_agent(s, away.id or 0), "away")
        night_agent = await agents.get_agent(s, nights.id or 0)
        night_agent.shift_calendar = "berlin-office"  # the shipped SLA file's Mon-Fri 08:00-18:00, Berlin
        await commit(s, runtime.app.effects)
    saturday_night = utcnow().replace(year=2026, month=11, day=28, hour=22, minute=0)  # 23:00 in Berlin
    monday_noon = saturday_night + timedelta(days=1, hours=13)
    async with runtime.app.sessionmaker() as s:
        assert await tier_capacity(s, 1, saturday_night) == 1  # only `here`
        assert await tier_capacity(s, 1, monday_noon) == 2  # `here` and the agent on shift
    assert here.id is not None


async def test_accepted_offers_count_as_handled_and_offered_tickets_do_not_wait(runtime: Runtime) -> None:
    """Push assignment: a ticket taken by accepting an offer counts in the handling rate like a claim, and
    an offered ticket (queued, with its agent as assignee) is no longer waiting."""
    from router.assignment import assigner
    from router.forecast import queries
    from router.tickets import offers
    from router.unit_of_work import transaction
    from tests.assignment.helpers import agent, push

    push(runtime, "least_loaded")
    taker, _ = await agent(runtime)
    ids = await _queued(runtime, 3)
    rule = runtime.app.assignment.current().of(1)
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        made = await assigner.assign_batch(s, runtime.app.tier_queue, 1, rule, seen={}, away_after=0, limit=2)
    assert len(made) == 2
    async with transaction(runtime.app.sessionmaker, runtime.app.effects) as s:
        await offers.accept(s, made[0].ticket_id, taker)
    async with runtime.app.sessionmaker() as s:
        claims, hours = await queries.recent_handling(s, 1, utcnow() - timedelta(days=1))
        waiting = await queries.waiting(s, 1)
    assert (claims, hours) == (1, 1)
    assert waiting.ids == [i for i in ids if i not in {o.ticket_id for o in made}]
