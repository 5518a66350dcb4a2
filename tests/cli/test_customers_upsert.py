"""``tierroute customers import --upsert`` with attribute and metric columns (issue 18 item 2): existing
customers updated through the customers service (tier changes in the history with source ``import``),
metrics recorded idempotently, and a file with any bad row changes nothing at all."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import col, func, select

from queues.runtime import Runtime
from router.models.admin import AdminEvent
from router.models.customers import Customer, CustomerDomain, CustomerMetric, CustomerTierChange
from router.settings import Settings
from tests.conftest import make_customer, one_backend
from tests.test_cli import tierroute


async def state(runtime: Runtime) -> dict[str, object]:
    """Everything an import may touch, to compare before and after."""
    async with runtime.app.sessionmaker() as s:
        customers = [
            (c.external_ref, c.name, c.value_tier, c.highest_tier, c.attributes)
            for c in (await s.exec(select(Customer).order_by(col(Customer.external_ref)))).all()
        ]
        history = [
            (h.customer_id, h.from_tier, h.to_tier, h.reason, h.source)
            for h in (await s.exec(select(CustomerTierChange).order_by(col(CustomerTierChange.id)))).all()
        ]
        metrics = [
            (m.customer_id, m.period, m.metric, m.value, m.source, m.recorded_at)
            for m in (await s.exec(select(CustomerMetric).order_by(col(CustomerMetric.id)))).all()
        ]
        domains = sorted((await s.exec(select(CustomerDomain.domain))).all())
        events = (await s.exec(select(func.count()).select_from(AdminEvent))).one()
    return {"customers": customers, "history": history, "metrics": metrics, "domains": domains, "events": events}


HEADER = "external_ref,name,tier,domains,attr:reference_logo,metric:revenue_12m@2026-10,metric:gross_margin\n"


async def test_an_upsert_with_bad_rows_changes_nothing(runtime: Runtime, settings: Settings, tmp_path: Path) -> None:
    await make_customer(runtime, ref="acme", tier=3, domain="acme.example")
    path = tmp_path / "customers.csv"
    path.write_text(
        HEADER
        + "acme,Acme Corp,1,acme.io,yes,125000.50,0.42\n"  # 2: fine, an update
        + "newco,NewCo,2,,no,1000,0.1\n"  # 3: fine, a new customer
        + "badco,Bad Co,2,,maybe,nan,1e999\n"  # 4: not numbers / too big
        + "nameless,,,,,,\n"  # 5: new, but no name or tier
        + 'acme,"Acme\nagain",1,,,,\n'  # 6-7: the reference again
    )
    before = await state(runtime)
    result = tierroute(settings, "customers", "import", "--upsert", "--period", "2026-09", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{path}:4:23: metric revenue_12m for 2026-10: 'nan' is not a number like 1234.5",
        f"{path}:4:27: metric gross_margin for 2026-09: a metric's value is a finite number within ±1e+15, got inf",
        f"{path}:5:1: no customer has the reference 'nameless': a new customer needs a name and a tier",
        f"{path}:6:1: external_ref 'acme' is also on line 2",
        "4 problem(s); nothing was imported",
    ]
    assert await state(runtime) == before


async def test_upsert_updates_through_the_service_and_is_idempotent(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    acme = await make_customer(runtime, ref="acme", tier=3, domain="acme.example")
    path = tmp_path / "customers.csv"
    path.write_text(
        HEADER
        + "acme,Acme Corp,1,acme.io;acme.example,yes,125000.50,0.42\n"
        + "newco,NewCo,2,newco.example,no,1000,\n"
        + "quiet,,,,,,\n"  # exists, nothing to change
    )
    await make_customer(runtime, ref="quiet", tier=4, domain="quiet.example")
    done = tierroute(settings, "customers", "import", "--upsert", "--period", "2026-09", "--source", "crm", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported 1 customers, updated 2; metrics: 3 new, 0 changed, 0 unchanged"
    after = await state(runtime)
    assert after["customers"] == [
        ("acme", "Acme Corp", 1, 1, {"reference_logo": True}),
        ("newco", "NewCo", 2, 2, {"reference_logo": False}),
        ("quiet", "Quiet", 4, 4, {}),
    ]
    assert after["domains"] == ["acme.example", "acme.io", "newco.example", "quiet.example"]
    history = after["history"]
    assert isinstance(history, list)
    assert [h for h in history if h[0] == acme.id] == [
        (acme.id, None, 3, "onboarding", "import"),  # made by the test without an agent, as an import is
        (acme.id, 3, 1, f"imported from {path}:2", "import"),
    ]
    assert len(history) == 4  # and the onboarding steps of quiet and newco
    metrics = {(m[0], m[1], m[2], m[3], m[4]) for m in after["metrics"]}  # type: ignore[attr-defined]
    assert metrics == {
        (acme.id, "2026-10", "revenue_12m", 125000.5, "crm"),
        (acme.id, "2026-09", "gross_margin", 0.42, "crm"),
        (3, "2026-10", "revenue_12m", 1000.0, "crm"),  # newco (an empty cell is no figure)
    }
    async with runtime.app.sessionmaker() as s:
        actions = (
            await s.exec(
                select(AdminEvent.action)
                .where(AdminEvent.subject == f"customer:{acme.id}")
                .order_by(col(AdminEvent.id))
            )
        ).all()
    assert actions == [
        "customer.added",
        "customer.changed",
        "customer.retiered",
        "customer.domain_added",
        "customer.metrics_recorded",
    ]

    again = tierroute(settings, "customers", "import", "--upsert", "--period", "2026-09", "--source", "crm", str(path))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "imported 0 customers, updated 3; metrics: 0 new, 0 changed, 3 unchanged"
    assert await state(runtime) == after  # nothing new: no history, no events, same recorded_at


@one_backend
async def test_without_upsert_an_existing_reference_is_a_conflict_and_metrics_need_a_month(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    await make_customer(runtime, ref="acme", tier=3, domain="acme.example")
    path = tmp_path / "customers.csv"
    path.write_text("external_ref,name,tier,metric:revenue_12m\nacme,Acme,1,5\n")
    no_month = tierroute(settings, "customers", "import", str(path))
    assert no_month.stderr.splitlines() == [
        f"{path}:1:24: metric column 'metric:revenue_12m' names no month: write metric:revenue_12m@2026-10, "
        "or give --period",
        "1 problem(s); nothing was imported",
    ]
    conflict = tierroute(settings, "customers", "import", "--period", "2026-10", str(path))
    assert (
        conflict.stderr.splitlines()[0] == f"{path}:2:1: a customer with reference 'acme' exists (--upsert updates it)"
    )
    bad_period = tierroute(settings, "customers", "import", "--period", "2026-13", str(path))
    assert bad_period.returncode == 2
    assert bad_period.stderr.strip() == "error: --period '2026-13' is not a month as YYYY-MM (like 2026-10)"
