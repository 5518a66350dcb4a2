"""The job table agrees with what ``router`` enqueues, and the workers are built from it (no Redis needed)."""

from __future__ import annotations

import pytest

from queues.job_table import JOBS, TIERS
from queues.names import ARQ_QUEUES, arq_queue_for, tier_arq_queue
from queues.worker import cron_jobs_for, functions_for, queue_names
from router import job_names
from router.effects import (
    MAIL,
    ROUTING,
    EnqueueJob,
    automation_batch_job,
    automation_job,
    deliver_job,
    mail_job,
    publish_job,
    route_job,
    sla_check_job,
)
from router.reports.digest import digest_job
from router.settings import Settings

SETTINGS = Settings(route_job_timeout=17, mail_send_attempts=3)

ENQUEUED = [
    route_job(1),
    automation_job(1, 0),
    automation_job(1, 4),
    automation_batch_job(2, [3, 1]),
    sla_check_job("1:resolution:2"),
    mail_job(1),
    digest_job(1),
    publish_job("evt_1"),
    deliver_job(1),
]


def test_every_name_once() -> None:
    names = [job.name for job in JOBS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("job", ENQUEUED, ids=lambda job: job.function)
def test_what_router_enqueues_lands_on_a_worker_that_runs_it(job: EnqueueJob) -> None:
    served = {f.name for f in functions_for(arq_queue_for(job.queue), SETTINGS)}
    assert job.function in served


def test_every_enqueued_job_of_the_table_is_on_one_queue() -> None:
    all_queues = queue_names(range(5), routing=True)
    for job in JOBS:
        if job.schedule is not None:
            continue
        on = [q for q in all_queues if job.name in {f.name for f in functions_for(q, SETTINGS)}]
        assert on == ([tier_arq_queue(t) for t in range(5)] if job.queue == TIERS else [ARQ_QUEUES[job.queue]])


def test_timeouts_and_tries_follow_the_settings() -> None:
    routing = {f.name: f for f in functions_for(ARQ_QUEUES[ROUTING], SETTINGS)}
    mail = {f.name: f for f in functions_for(ARQ_QUEUES[MAIL], SETTINGS)}
    route, send = routing[job_names.ROUTE_TICKET], mail[job_names.SEND_MAIL]
    assert (route.timeout_s, route.max_tries) == (17, 5)
    assert (send.timeout_s, send.max_tries) == (60, 3)


def test_cron_jobs_run_on_the_routing_worker_only() -> None:
    crons = cron_jobs_for(ARQ_QUEUES[ROUTING], SETTINGS)
    assert crons is not None
    assert {c.name for c in crons} == {job.name for job in JOBS if job.schedule is not None}
    assert all(c.unique and c.max_tries == 1 for c in crons)
    for queue in [*queue_names(range(5), routing=True)][1:]:
        assert cron_jobs_for(queue, SETTINGS) is None


def test_no_routing_job_outlasts_the_route_timeout() -> None:
    """arq keeps a job in progress for the longest timeout on its worker + 10 s: one long job on the routing
    queue (a 600 s tier review did) keeps a SIGKILLed worker's route jobs locked for that long."""
    settings = Settings()
    routing = [job for job in JOBS if job.queue == ROUTING]
    assert routing
    assert max(job.arq_function(settings).timeout_s or 0 for job in routing) <= settings.route_job_timeout
