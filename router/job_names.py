"""The background jobs' names, spelled once.

``router`` records jobs by name (``router.effects``) and never imports ``queues``; ``queues.job_table``
maps each name to its function, queue, timeout and tries. Names are dotted, ``domain.action``.
"""

from __future__ import annotations

from typing import Final

ROUTE_TICKET: Final = "ticket.route"
AUTOMATE_TIER: Final = "tier.automate"
#: The same for a batch of tickets that entered the tier together (batched intake).
AUTOMATE_TIER_BATCH: Final = "tier.automate_batch"
CHECK_SLA: Final = "sla.check"
SEND_MAIL: Final = "mail.send"
SEND_DIGEST: Final = "reports.send_digest"
SEND_NOTIFICATION_MAIL: Final = "notifications.send_mail"
PUBLISH_EVENT: Final = "events.publish"
DELIVER_WEBHOOK: Final = "webhook.deliver"
#: Push assignment (``docs/assignment.md``): offer a tier's queued tickets to available agents.
ASSIGN_TIER: Final = "assignment.assign"

# Cron jobs: nothing in ``router`` enqueues them, the routing worker runs them on a schedule.
RECONCILE_SWEEP: Final = "reconcile.sweep"
RECONCILE_REPAIR: Final = "reconcile.repair"
REFRESH_ROLLUPS: Final = "reports.refresh_rollups"
WEEKLY_DIGEST: Final = "reports.weekly_digest"
AUDIT_CHECKPOINT: Final = "audit.checkpoint"
#: Applies the tier policy once per review period (``TIERROUTE_TIER_REVIEW_CADENCE``).
TIER_REVIEW: Final = "customers.tier_review"
#: Settles open breach predictions, forecasts every tier and announces new predicted breaches.
FORECAST_BREACHES: Final = "sla.forecast_breaches"
