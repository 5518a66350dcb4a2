"""The words every layer shares, each defined once: support tiers, customer tiers, priorities.

Pure constants at the bottom of the import graph (``queues → router → rules``): the rules engine, the
ticket service, the tier queues, the reports and the FastAPI validators all import them from here.
Table-bound words (ticket statuses, the ticket reference, delivery statuses, roles) live with their
tables in ``router/models/``.
"""

from __future__ import annotations

from typing import Literal, get_args

#: Support tiers run from 0 (self-service) to 4 (an outside vendor); escalation goes up, de-escalation down.
MIN_SUPPORT_TIER = 0
MAX_SUPPORT_TIER = 4
SUPPORT_TIERS = range(MIN_SUPPORT_TIER, MAX_SUPPORT_TIER + 1)
#: The highest tier is an outside vendor: a ticket escalated there is handed off by signed webhook.
VENDOR_TIER = MAX_SUPPORT_TIER
#: The lowest tier is self-service (suggested articles, docs/self-service.md); a requester who asks for a person
#: goes to the frontline tier above it.
SELF_SERVICE_TIER = MIN_SUPPORT_TIER
FRONTLINE_TIER = MIN_SUPPORT_TIER + 1

#: What the agents' UI calls each support tier unless settings rename them (one name per tier).
SUPPORT_TIER_NAMES = ("self-service", "frontline", "technical", "expert", "vendor")

#: Customer value tiers run from 1 (best) to 4.
MIN_CUSTOMER_TIER = 1
MAX_CUSTOMER_TIER = 4
CUSTOMER_TIERS = range(MIN_CUSTOMER_TIER, MAX_CUSTOMER_TIER + 1)
#: Their names unless a rulebook or the settings rename them (one name per tier, best first).
CUSTOMER_TIER_NAMES = ("strategic partner", "core", "break-even", "money-losing")

#: Lowest to highest; a rule "raises" a priority by moving right.
PRIORITIES = ("low", "normal", "high", "urgent")
#: A tier queue's claim order: the most urgent first (rank 0 is taken first).
PRIORITY_RANK = {priority: rank for rank, priority in enumerate(reversed(PRIORITIES))}

#: Per support tier, who may take a particular queued ticket instead of claiming the head of the queue:
#: agents who work the tier (the default), leads and admins only, or nobody.
TakePolicy = Literal["agents", "leads", "nobody"]
TAKE_POLICIES: tuple[TakePolicy, ...] = get_args(TakePolicy)
