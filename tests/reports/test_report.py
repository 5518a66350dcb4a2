"""Every figure of the known history (see ``conftest``), checked exactly on SQLite and PostgreSQL.

Durations in seconds, worked by hand from the timeline; percentiles are ``percentile_cont`` (linear
interpolation), e.g. the p90 of [900, 1800, 28800] is 1800 + 0.8 * 27000 = 23400.
"""

from __future__ import annotations

from typing import Any

from queues.runtime import Runtime
from router.reports import service
from tests.conftest import auth
from tests.reports.conftest import NOW, SINCE, UNTIL, History


def pct(p50: float | None, p90: float | None) -> dict[str, float | None]:
    return {"p50": p50, "p90": p90}


NONE = pct(None, None)


def group(
    key: str,
    counts: tuple[int, ...],
    fr: tuple[int, int, int],
    res: tuple[int, int, int],
    times: tuple[dict[str, Any], ...] = (NONE, NONE, NONE, NONE),
) -> dict[str, Any]:
    """counts: in, out, customers, resolved, escalated, reopened, breaches; fr/res: met, breached, open."""
    tickets_in, out, customers, resolved, escalated, reopened, breaches = counts
    return {
        "key": key,
        "tickets_in": tickets_in,
        "tickets_out": out,
        "customers": customers,
        "resolved": resolved,
        "escalated": escalated,
        "reopened": reopened,
        "reopen_rate": round(reopened / tickets_in, 4),
        "breaches": breaches,
        "first_response_met": fr[0],
        "first_response_breached": fr[1],
        "first_response_open": fr[2],
        "first_response_unanswered": 0,  # every first response of the history was a reply or is still owed
        "first_response_compliance": round(fr[0] / (fr[0] + fr[1]), 4) if fr[0] + fr[1] else None,
        "resolution_met": res[0],
        "resolution_breached": res[1],
        "resolution_open": res[2],
        "resolution_compliance": round(res[0] / (res[0] + res[1]), 4) if res[0] + res[1] else None,
        "first_response_business": times[0],
        "first_response_wall": times[1],
        "resolution_business": times[2],
        "resolution_wall": times[3],
    }


def strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "dimension"} for r in rows]


# A and B (tier 1, Globex) as measured: first response business A 1800, B 28800 (Tue 10-17 + Wed 9-10 in
# Berlin); wall A 1800, B 86400; resolution business A 7200 (3600 + 3600 after the reopen), B 32400
# (7 h + 2 h); wall A 10800, B 90000.
TIER1_TIMES = (pct(15300, 26100), pct(44100, 77940), pct(19800, 29880), pct(50400, 82080))
# C: first response 900 s (its clock's lifetime total, across the SLA escalation), resolution 2400 s.
C_TIMES = (pct(900, 900), pct(900, 900), pct(2400, 2400), pct(2400, 2400))
A_B = (2, 2, 1, 2, 0, 1, 2)
C = (1, 1, 1, 1, 1, 0, 1)
D = (1, 0, 1, 0, 1, 0, 2)
E = (1, 0, 1, 0, 0, 0, 0)


async def report(h: History, **params: Any) -> dict[str, Any]:
    r = await h.client.get(
        "/api/v1/reports/sla",
        params={"since": SINCE.isoformat(), "until": UNTIL.isoformat(), **params},
        headers=auth(h.lead),
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_every_figure_of_the_known_history(history: History) -> None:
    data = await report(history)
    assert (data["since"], data["until"], data["as_of"]) == (
        "2026-11-24T00:00:00Z",
        "2026-11-26T00:00:00Z",
        "2026-11-25T10:30:00Z",
    )
    totals = data["totals"]
    assert totals.pop("dimension") == "all"
    assert totals == group(
        "all",
        (5, 3, 4, 3, 2, 1, 5),
        (1, 3, 1),  # A met; B, C (breached in tier 1, met in tier 2), D (open) breached; E open
        (2, 2, 1),  # A, C met; B, D breached; E open
        (pct(1800, 23400), pct(1800, 69480), pct(7200, 27360), pct(10800, 74160)),
    )
    assert strip(data["by_support_tier"]) == [
        group("1", (3, 2, 2, 2, 0, 1, 2), (1, 1, 1), (1, 1, 1), TIER1_TIMES),  # A, B, E
        group("2", C, (0, 1, 0), (1, 0, 0), C_TIMES),
        group("4", D, (0, 1, 0), (0, 1, 0)),
    ]
    assert strip(data["by_customer_tier"]) == [
        group("1", D, (0, 1, 0), (0, 1, 0)),
        group("2", A_B, (1, 1, 0), (1, 1, 0), TIER1_TIMES),
        group("3", C, (0, 1, 0), (1, 0, 0), C_TIMES),
        group("4", E, (0, 0, 1), (0, 0, 1)),
    ]
    # B's two breaches raised its priority twice (office policy: raise_priority); D was routed high.
    assert strip(data["by_priority"]) == [
        group("high", D, (0, 1, 0), (0, 1, 0)),
        group(
            "normal",
            (3, 2, 3, 2, 1, 1, 1),
            (1, 1, 1),
            (2, 0, 1),
            (pct(1350, 1710), pct(1350, 1710), pct(4800, 6720), pct(6600, 9960)),
        ),
        group(
            "urgent",
            (1, 1, 1, 1, 0, 0, 2),
            (0, 1, 0),
            (0, 1, 0),
            (pct(28800, 28800), pct(86400, 86400), pct(32400, 32400), pct(90000, 90000)),
        ),
    ]
    # Tier 1: A 3600 + 3600 (two stays: before and after the reopen), B 90000, C 660, D 3600, E 1800 (open,
    # up to 10:30): 6 stays.
    assert data["time_in_tier"] == [
        {"tier": 1, "stays": 6, "seconds": 103260.0, "mean_seconds": 17210.0},
        {"tier": 2, "stays": 2, "seconds": 1140.0, "mean_seconds": 570.0},  # C 540 + 600
        {"tier": 3, "stays": 1, "seconds": 600.0, "mean_seconds": 600.0},
        {"tier": 4, "stays": 1, "seconds": 88200.0, "mean_seconds": 88200.0},  # D, open since T0+1h
    ]
    assert data["escalation_paths"] == [
        {"action": "deescalated", "from_tier": 3, "to_tier": 2, "cause": None, "count": 1},
        {"action": "escalated", "from_tier": 1, "to_tier": 2, "cause": "sla", "count": 1},
        {"action": "escalated", "from_tier": 1, "to_tier": 4, "cause": "agent", "count": 1},
        {"action": "escalated", "from_tier": 2, "to_tier": 3, "cause": "agent", "count": 1},
    ]
    assert data["escalations_by_cause"] == [{"cause": "agent", "count": 2}, {"cause": "sla", "count": 1}]
    assert data["deescalations"] == 1
    assert data["top_rules"] == [{"rule": "rule:billing", "tickets": 2, "escalations": 3}]
    ids = history.customers
    assert data["top_customers"] == [
        {"customer_id": ids["initech"], "name": "Initech", "value_tier": 3, "tickets": 1, "escalations": 2},
        {"customer_id": ids["umbrella"], "name": "Umbrella", "value_tier": 1, "tickets": 1, "escalations": 1},
    ]
    assert data["backlog"] == [
        {"bucket": "< 1 day", "support_tier": 1, "count": 1},  # E, 30 minutes old
        {"bucket": "1-3 days", "support_tier": 4, "count": 1},  # D, 25.5 hours old
    ]
    assert data["vendor"] == {
        "handoffs": 1,
        "delivered": 1,
        "vendor_updated": 1,
        "resolved": 0,
        "delivery": pct(0.0, 0.0),  # delivered in the same (frozen) instant
        "first_update": pct(7200.0, 7200.0),
        "resolution": NONE,
    }
    # Breaches by day: C first response and B first response on Tuesday; B resolution, D's two on Wednesday.
    assert data["trends"] == [
        {"bucket": "2026-11-24", "tickets_in": 4, "tickets_out": 2, "breaches": 2},
        {"bucket": "2026-11-25", "tickets_in": 1, "tickets_out": 1, "breaches": 3},
    ]
    assert data["customer_tiers"] == {
        "bottom_heavy": True,  # 4 of 6 customers in tiers 3-4
        "rows": [
            {
                "value_tier": 1,
                "customers": 1,
                "customer_share": 0.1667,
                "tickets_in": 1,
                "ticket_share": 0.2,
                "first_response_compliance": 0.0,
                "resolution_compliance": 0.0,
            },
            {
                "value_tier": 2,
                "customers": 1,
                "customer_share": 0.1667,
                "tickets_in": 2,
                "ticket_share": 0.4,
                "first_response_compliance": 0.5,
                "resolution_compliance": 0.5,
            },
            {
                "value_tier": 3,
                "customers": 2,
                "customer_share": 0.3333,
                "tickets_in": 1,
                "ticket_share": 0.2,
                "first_response_compliance": 0.0,
                "resolution_compliance": 1.0,
            },
            {
                "value_tier": 4,
                "customers": 2,
                "customer_share": 0.3333,
                "tickets_in": 1,
                "ticket_share": 0.2,
                "first_response_compliance": None,
                "resolution_compliance": None,
            },
        ],
    }


async def test_filters_weeks_and_an_empty_window(history: History) -> None:
    weekly = await report(history, granularity="week")
    assert weekly["trends"] == [{"bucket": "2026-11-23", "tickets_in": 5, "tickets_out": 3, "breaches": 5}]

    globex = await report(history, customer_id=history.customers["globex"])
    assert globex["totals"]["tickets_in"] == 2 and globex["totals"]["tickets_out"] == 2
    assert [b["key"] for b in globex["by_support_tier"]] == ["1"]
    assert globex["escalation_paths"] == [] and globex["customer_tiers"]["rows"][1]["customers"] == 1

    mine = await report(history, agent_id=history.agent_id)  # the agent worked on A, B and C
    assert mine["totals"]["tickets_in"] == 3 and mine["totals"]["escalated"] == 1
    assert [p["count"] for p in mine["escalation_paths"]] == [1, 1, 1]
    assert mine["time_in_tier"] == [
        {"tier": 1, "stays": 4, "seconds": 97860.0, "mean_seconds": 24465.0},
        {"tier": 2, "stays": 2, "seconds": 1140.0, "mean_seconds": 570.0},
        {"tier": 3, "stays": 1, "seconds": 600.0, "mean_seconds": 600.0},
    ]

    before = await report(history, since="2026-11-01T00:00:00Z", until="2026-11-02T00:00:00Z")
    assert before["totals"]["tickets_in"] == 0 and before["totals"]["first_response_compliance"] is None
    assert before["by_support_tier"] == [] and before["trends"] == [] and before["time_in_tier"] == []
    # D and E arrived later, so the backlog of that window is empty too.
    assert before["backlog"] == []


async def test_the_service_reports_progress_per_section(runtime: Runtime) -> None:
    seen: list[str] = []
    async with runtime.app.sessionmaker() as s:
        result = await service.sla_report(s, service.make_filters(SINCE, UNTIL, now=NOW), seen.append)
    assert seen == list(service.SECTIONS)
    assert result.totals.tickets_in == 0 and result.totals.key == "all" and result.by_support_tier == []
