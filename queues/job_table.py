"""Every background job in one table: name → function, queue, timeout, tries, and a schedule for cron jobs.

The workers are built from it (``queues.worker``). Names come from ``router.job_names``, the one place they
are spelled, because ``router`` records jobs by name without importing ``queues``. A queue is a
``router.effects`` queue (``ROUTING``, ``MAIL``, ``WEBHOOKS``, ``SLA``) or ``TIERS``: one arq queue per
support tier, chosen by the job's tier argument. Cron jobs run on the routing worker (never in burst mode).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from arq import cron
from arq.cron import CronJob
from arq.typing import WorkerCoroutine
from arq.worker import Function, func

from queues import jobs
from router import job_names
from router.effects import MAIL, ROUTING, SLA, WEBHOOKS
from router.settings import Settings

#: The queue of tier automation: one arq queue per support tier.
TIERS = "tiers"
#: A number of seconds or tries, fixed or read from the settings.
Amount = int | Callable[[Settings], int]
Weekday = Literal["mon", "tues", "wed", "thurs", "fri", "sat", "sun"]


def route_job_timeout(settings: Settings) -> int:
    """Short on purpose: a SIGKILLed worker holds a job for its timeout + 10 s before it can run again."""
    return settings.route_job_timeout


def mail_send_attempts(settings: Settings) -> int:
    return settings.mail_send_attempts


@dataclass(frozen=True)
class Schedule:
    """When a cron job runs (arq ``cron`` fields; ``None`` matches every value)."""

    second: int | set[int] = 0
    minute: int | set[int] | None = None
    hour: int | None = None
    weekday: Weekday | None = None


@dataclass(frozen=True)
class Job:
    """One row of the table; ``timeout`` (seconds) and ``tries`` may depend on the settings."""

    name: str
    function: WorkerCoroutine
    queue: str
    timeout: Amount
    tries: Amount
    schedule: Schedule | None = None

    def arq_function(self, settings: Settings) -> Function:
        timeout, tries = _amount(self.timeout, settings), _amount(self.tries, settings)
        return func(self.function, name=self.name, timeout=timeout, max_tries=tries)

    def arq_cron(self, settings: Settings) -> CronJob:
        assert self.schedule is not None
        s = self.schedule
        return cron(
            self.function,
            name=self.name,
            second=s.second,
            minute=s.minute,
            hour=s.hour,
            weekday=s.weekday,
            unique=True,
            timeout=_amount(self.timeout, settings),
            max_tries=_amount(self.tries, settings),
        )


def _amount(amount: Amount, settings: Settings) -> int:
    return amount if isinstance(amount, int) else amount(settings)


def _cron(name: str, function: WorkerCoroutine, schedule: Schedule, timeout: Amount = route_job_timeout) -> Job:
    """A cron job: on the routing worker, once per schedule (arq ``unique``), never retried."""
    return Job(name, function, ROUTING, timeout=timeout, tries=1, schedule=schedule)


#: The sweep re-enqueues jobs lost to a crash or a timeout (arq does not retry timed-out jobs), and takes back
#: offers nobody answered in time (an offer's timeout holds to within this period).
SWEEP_SECONDS = {0, 10, 20, 30, 40, 50}

#: The breach forecast runs every five minutes.
FORECAST_MINUTES = set(range(0, 60, 5))

JOBS: tuple[Job, ...] = (
    Job(job_names.ROUTE_TICKET, jobs.route_ticket, ROUTING, timeout=route_job_timeout, tries=5),
    Job(job_names.AUTOMATE_TIER, jobs.automate_tier, TIERS, timeout=route_job_timeout, tries=5),
    Job(job_names.AUTOMATE_TIER_BATCH, jobs.automate_tier_batch, TIERS, timeout=route_job_timeout, tries=5),
    Job(job_names.CHECK_SLA, jobs.check_sla, SLA, timeout=route_job_timeout, tries=5),
    Job(job_names.SEND_MAIL, jobs.send_mail, MAIL, timeout=60, tries=mail_send_attempts),
    Job(job_names.SEND_DIGEST, jobs.send_digest, MAIL, timeout=120, tries=mail_send_attempts),
    Job(job_names.SEND_NOTIFICATION_MAIL, jobs.send_notification_mail, MAIL, timeout=60, tries=mail_send_attempts),
    Job(job_names.ASSIGN_TIER, jobs.assign_tier, ROUTING, timeout=route_job_timeout, tries=3),
    Job(job_names.PUBLISH_EVENT, jobs.publish_event, WEBHOOKS, timeout=route_job_timeout, tries=10),
    # Attempts are counted in the database per endpoint (at most 30); arq's own limit only backs that up.
    Job(job_names.DELIVER_WEBHOOK, jobs.deliver_webhook, WEBHOOKS, timeout=150, tries=40),
    _cron(job_names.RECONCILE_SWEEP, jobs.sweep, Schedule(second=SWEEP_SECONDS)),
    # Reads every queued ticket, so it runs less often than the sweep.
    _cron(job_names.RECONCILE_REPAIR, jobs.repair_queues, Schedule(second=0)),
    _cron(job_names.REFRESH_ROLLUPS, jobs.refresh_report_rollups, Schedule(second=30)),
    # Reads every queued ticket of each tier (a 100,000-ticket tier forecasts in well under a second).
    _cron(job_names.FORECAST_BREACHES, jobs.forecast_breaches, Schedule(minute=FORECAST_MINUTES, second=15)),
    _cron(job_names.WEEKLY_DIGEST, jobs.weekly_digest, Schedule(weekday="mon", hour=7, minute=0, second=0)),
    # A signed checkpoint of every chain head each hour (docs/audit.md): it reads one row per ticket.
    _cron(job_names.AUDIT_CHECKPOINT, jobs.audit_checkpoint, Schedule(minute=5, second=0)),
    # Daily: the first run of a review period applies the tier policy, later runs find it done. Within the
    # routing queue's timeout: arq locks a queue's jobs for its longest timeout + 10 s, so a longer one here
    # kept a killed worker's route jobs locked for ten minutes instead of seconds.
    _cron(job_names.TIER_REVIEW, jobs.tier_review, Schedule(hour=2, minute=30, second=0)),
)


def jobs_on(queue: str, *, scheduled: bool) -> list[Job]:
    """The table's jobs of one queue (``TIERS`` for any tier's queue): cron jobs or enqueued ones."""
    return [job for job in JOBS if job.queue == queue and (job.schedule is not None) == scheduled]
