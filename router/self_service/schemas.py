"""The self-service figures as the SLA report, ``/reports`` and ``tierroute kb stats`` show them."""

from __future__ import annotations

from pydantic import BaseModel


class DeflectionRow(BaseModel):
    """Tier-0 tickets of one customer tier (``None``: all of them) created in the window."""

    customer_tier: int | None
    #: Tickets the rulebook routed to tier 0.
    tier0_tickets: int
    #: Of those, tickets whose acknowledgement suggested articles.
    suggested: int
    #: Resolved by the requester through self-service (a "this solved it" link or a "solved" reply), with no
    #: agent's action in their trail, and still resolved or closed.
    deflected: int
    deflected_by_link: int
    deflected_by_reply: int
    #: ``deflected / tier0_tickets``.
    deflection_rate: float | None
    #: Escalations out of tier 0 after the ticket's articles were suggested, and by cause (``self_service``:
    #: the requester asked for a person; ``sla``: the self-service time ran out; ``agent``).
    escalations_after_suggestion: int
    escalations_by_cause: dict[str, int]


class ArticleRow(BaseModel):
    """One article's suggestions to tickets created in the window, and the requesters' one-click answers."""

    article_id: int
    slug: str
    title: str
    #: ``None``: every customer tier together.
    customer_tier: int | None
    suggested: int
    solved: int
    not_helpful: int
    #: ``solved / (solved + not_helpful)``: of the requesters who answered, the share it helped.
    helpful_ratio: float | None
    #: Suggested at least ``SelfServiceFigures.never_helps_after`` times, and never solved a ticket.
    never_helps: bool


class SelfServiceFigures(BaseModel):
    by_customer_tier: list[DeflectionRow]
    totals: DeflectionRow
    #: Per article: every customer tier together, then each tier, most suggested first.
    articles: list[ArticleRow]
    #: The articles (all customer tiers together) that never help.
    never_help: list[ArticleRow]
    never_helps_after: int
